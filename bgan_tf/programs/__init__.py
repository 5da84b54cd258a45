"""The four programs, each a `main()` that pip installs as a console-script command.

`setup.py` declares them as entry points (`run_bgan_semi = bgan_tf.programs.run_bgan_semi:main`,
...), so pip writes wrappers that import this package and call `main`: they need nothing but
the package, unlike the `scripts=` copies that `setup.py develop` rewrote into `pkg_resources`
loaders, which a newer setuptools no longer has. `bin/` keeps one thin file per program for
running from a checkout.

TensorFlow's C++ start-up messages are quieted here, before any program imports it.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
