"""Base class of the plain functional models built from a backbone alone."""

import keras


class BackboneModel(keras.Model):
    """A functional `keras.Model` whose only argument is a backbone.

    KerasHub tasks carry a preprocessor and compile defaults; the pre-training
    and question-answering models do not, so they are plain Keras models.
    This base serializes the backbone so that `keras.models.load_model`
    rebuilds them.

    Example:
    ```python
    class MyHead(BackboneModel):
        def __init__(self, backbone, **kwargs):
            self.backbone = backbone
            outputs = backbone(backbone.input)["pooled_output"]
            super().__init__(inputs=backbone.input, outputs=outputs, **kwargs)
    ```
    """

    def get_config(self):
        return {
            "backbone": keras.layers.serialize(self.backbone),
            "name": self.name,
            "trainable": self.trainable,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config["backbone"], dict):
            config["backbone"] = keras.layers.deserialize(config["backbone"])
        return cls(**config)
