"""Qt-free training: the session, its events, checkpoints and baselines."""
