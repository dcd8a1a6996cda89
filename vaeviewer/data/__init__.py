"""The data layer: files -> frame sequences -> windows, batches and stateful streams.

Modules: ``sources`` (load_sequences, Sequence), ``demo`` (demo_sequences), ``windows``
(window_starts, make_windows, choose_split, split_sequences, gather, iterate_batches,
make_stateful_plan: whole sequences per group, or make_streams of one sequence),
``inspect`` (describe), ``bench`` (bench_windows); ``convert``, ``arrays`` and ``media`` hold
the pixel conversion and the per-format readers. Nothing here imports Qt or Keras.
"""
