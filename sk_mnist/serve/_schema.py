"""The API's answers and request bodies, described for ``/openapi.json``.

``/predict`` reads its body itself (several content types, with size and row
limits), so its request body is described here by hand; the answer models
document the JSON it writes.
"""

from pydantic import BaseModel, Field

Label = int | float | str | bool


class Prediction(BaseModel):
    label: Label = Field(description="The most probable class.")
    probabilities: list[float] = Field(description="One per class, in classes order.")
    file: str | None = Field(None, description="The uploaded file the row came from.")
    image: list[int] | None = Field(
        None,
        description="For an image: the 784 grey levels (28 x 28, row by row) "
        "the model received after MNIST-style normalisation.",
    )


class PredictAnswer(BaseModel):
    classes: list[Label] = Field(description="The model's classes, in order.")
    predictions: list[Prediction] = Field(description="One per row, in order.")


class Limits(BaseModel):
    max_body_bytes: int
    max_rows: int
    max_image_pixels: int
    body_timeout: float


class HealthAnswer(BaseModel):
    status: str
    sk_mnist_version: str
    model_id: str | None = Field(description="sha256:<hex> of the model file.")
    model_version: str = Field(description="sk_mnist version + model id prefix.")
    model_type: str
    backend: str = Field(description="The Keras backend, or onnxruntime.")
    classes: list[Label]
    n_features: int
    runtime: str | None = Field(
        description="How the model runs: Keras, an ONNX file, or a saved "
        "Keras model converted to ONNX in memory."
    )
    quantization: str | None = Field(
        description='"int8" for a quantised ONNX file, else null.'
    )
    limits: Limits


class ErrorAnswer(BaseModel):
    detail: str = Field(description="One line naming the problem.")


_ROWS = {
    "type": "object",
    "required": ["instances"],
    "properties": {
        "instances": {
            "type": "array",
            "description": "Rows of 784 grey levels 0-255 (28 x 28, row by row).",
            "items": {
                "type": "array",
                "items": {"type": "number", "minimum": 0, "maximum": 255},
            },
        }
    },
}
_FILES = {
    "type": "object",
    "properties": {
        "file": {
            "type": "array",
            "items": {"type": "string", "format": "binary"},
            "description": "Image files (PNG, JPEG, ...) or Kaggle-layout CSV files.",
        }
    },
}
_BINARY = {"type": "string", "format": "binary"}
OPENAPI_PREDICT = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": _ROWS},
            "text/csv": {"schema": {"type": "string"}},
            "multipart/form-data": {"schema": _FILES},
            "image/png": {"schema": _BINARY},
            "image/jpeg": {"schema": _BINARY},
        },
    }
}
