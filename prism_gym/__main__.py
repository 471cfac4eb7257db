from prism_gym.cli import main

main()
