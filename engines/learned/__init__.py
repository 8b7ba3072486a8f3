"""The learned pose-transfer engine (PATN, the thesis seed) and everything that trains it.

config and patn (the generator and discriminators), posemaps, losses, datasets and personcrop
(training data), training, checkpoint (safetensors + JSON), export (ONNX), renderer (the `learned`
Renderer, running a backend from engines.backends). Importing this package imports no torch.
"""
