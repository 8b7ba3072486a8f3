"""repose: drive another person's image with your body, live."""
from setuptools import find_packages, setup

# Core: what the live pose path needs. Pins that must hold are explained in constraints.txt.
CORE = [
    "mediapipe==0.10.21",          # last release that ships its pose models in the wheel
    "numpy>=1.24,<2",              # mediapipe 0.10.21 is built against numpy 1.x
    "protobuf>=4.25,<5",           # mediapipe 0.10.21 needs protobuf<5
    "opencv-contrib-python>=4.8",  # the only OpenCV wheel allowed (see README, limits)
    "scikit-image>=0.22",
    "scipy>=1.10",
    "imageio-ffmpeg>=0.5",
    "tqdm>=4.60",
    "matplotlib>=3.7",
    "pyvirtualcam>=0.11",
    "flask>=3.0",                  # `repose editor`: the pose editor's local web server
    "pillow>=10",                  # editor uploads: format and size read from the header before decoding
    "threadpoolctl>=3.1",          # numpy's BLAS on one thread (realtime/cpu.py)
]

EXTRAS = {
    "train": ["torch==2.13.0", "onnx>=1.15", "onnxscript>=0.1", "onnxruntime>=1.17", "safetensors>=0.4"],
    # TensorRT's wheels come from NVIDIA's index: add --extra-index-url https://pypi.nvidia.com (README, GPU).
    "gpu": ["tensorrt>=10,<12", "pycuda>=2024.1", "onnx>=1.15"],
    "dev": ["pytest>=7.4", "hypothesis>=6.80", "psutil>=5.9",
            "playwright>=1.40"],         # browser test; drives Debian's chromium (never `playwright install`),
}

setup(
    name="repose",
    version="0.1.0",
    description="Drive another person's image with your body, live: pose estimation, matching and pose transfer.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10,<3.13",
    packages=find_packages(include=["realtime", "realtime.*", "engines", "engines.*",
                                    "calibration", "calibration.*"]),
    package_data={"realtime.app.editor": ["static/*"]},  # the editor page; no other data files
    install_requires=CORE,
    extras_require=EXTRAS,
    entry_points={"console_scripts": ["repose=realtime.app.cli:entry_point"]},
)
