"""Built-in experiment-tracker plugins (``--report-to``): TensorBoard, Weights &
Biases and MLflow, one module each, registered like any third-party plugin
(``prism_gym.plugins.DEFAULT_PLUGINS``). Each imports its library only when a
run opens it; the libraries are the extras ``tensorboard``, ``wandb`` and
``mlflow``."""
