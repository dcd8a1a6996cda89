"""The data layer: files -> frame sequences -> windows, batches and stateful streams.

Modules: ``sources`` (load_sequences, Sequence), ``demo`` (demo_sequences), ``windows``
(window_starts, make_windows, split_sequences, gather, iterate_batches, make_streams),
``inspect`` (describe), ``bench`` (bench_windows); ``convert``, ``arrays`` and ``media`` hold
the pixel conversion and the per-format readers. Nothing here imports Qt or Keras.
"""
