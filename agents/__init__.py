"""Built-in agent plugins (imported as ``prism_gym.agents``): the LLM policy,
the expert and random baselines, and the embedded default model."""
