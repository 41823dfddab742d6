"""The gru-hf benchmark, one module per section (see runner.py for the list and settings.py for every choice)."""
