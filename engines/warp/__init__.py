"""The warp renderer: the reference photo cut into body-part layers and moved bone by bone.

renderer (the Renderer: prepare once, render per frame), layers (prepare-time cutting of the photo
into part layers and the background), parts (which pixels belong to which bone), blend (joints).
"""
