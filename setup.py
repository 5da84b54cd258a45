"""Installs bgan_tf, its four programs as commands and the package data.

The commands are console-script entry points: pip writes each a wrapper that calls
`bgan_tf.programs.<name>:main`, whichever setuptools built the package and whichever is
installed later. pyproject.toml names the build backend (setuptools); the metadata is here.
"""

import pathlib

import setuptools

HERE = pathlib.Path(__file__).parent
PROGRAMS = ("run_bgan_semi", "run_bgan", "bgan_synth", "export_bgan")
SERVING = ["tensorflow-serving-api>=2.21,<2.22"]
version = {}
exec((HERE / "bgan_tf" / "__init__.py").read_text(), version)

setuptools.setup(
    name="bgan_tf",
    version=version["__version__"],
    description="Bayesian GAN (Saatci & Wilson, NIPS 2017) in TensorFlow 2 / Keras 3",
    long_description=(HERE / "README.md").read_text() if (HERE / "README.md").exists() else "",
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10,<3.14",
    packages=setuptools.find_packages(include=["bgan_tf", "bgan_tf.*"]),
    package_data={"bgan_tf": ["data/*.npz", "data/*.txt"]},
    entry_points={"console_scripts": [f"{name} = bgan_tf.programs.{name}:main" for name in PROGRAMS]},
    install_requires=[
        # Checked together on Python 3.11: TF 2.21, TFP 0.25 with tf-keras 2.21.
        "tensorflow>=2.21,<2.22",
        "tensorflow-probability>=0.25,<0.26",
        "tf-keras>=2.21,<2.22",
        "tensorflow-datasets>=4.9,<5",
        "numpy>=1.26,<3",
        "absl-py>=2.1,<3",
        "pillow>=10,<14",
        # tf.summary needs it and TensorFlow 2.21 no longer depends on it.
        "tensorboard>=2.21,<2.22",
    ],
    extras_require={
        # TF Serving's protos: the export's warm-up file and models.config
        # (without them the SavedModel is still written and checked).
        "serving": SERVING,
        # pytest-xdist: the suite in two processes (the README's test command), 5.8 minutes
        # on 2 cores where one process took 10.3 (BUILD.md, "Test").
        "test": ["pytest>=8,<10", "pytest-xdist>=3.5,<4"] + SERVING,
        "bench": ["matplotlib>=3.8,<4"],
        # The formatter (BUILD.md, "Formatting"); a maintainer tool.
        "dev": ["yapf>=0.43,<0.44"],
    },
)
