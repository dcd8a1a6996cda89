"""The desktop app: Qt main window, the worker-thread glue and one widget per file.

Only this package imports Qt or pyqtgraph. Importing it sets pyqtgraph's global options once:
row-major images (numpy (H, W) arrays show the way they print) and no antialiasing (speed).
"""

import pyqtgraph as pg

pg.setConfigOptions(imageAxisOrder="row-major", antialias=False, background="w", foreground="k")
