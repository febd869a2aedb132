"""TFLite metadata for a BERT classifier or question answerer: one file an
app can ship.

The metadata (the flatbuffer format of the TFLite Support library, read by
MediaPipe's `TextClassifier` and the Task Library's `BertNLClassifier` and
`BertQuestionAnswerer`) names the input tensors `ids`, `mask` and
`segment_ids` and carries a BertTokenizer process unit with the WordPiece
vocabulary. A classifier's label file is attached to its output tensor,
named `probability` as the Task Library requires. The file's output is
what `to_litert` put there: probabilities (a softmax in the graph) for a
classifier of several classes, which both clients report as the scores,
as they do Model Maker's; the raw output of a one-output or self-activated
head. A question answerer's outputs are named `end_logits` and
`start_logits`. The vocabulary and labels are associated files, packed
into the `.tflite` file as a zip archive appended after the flatbuffer
(the TFLite metadata convention), so the model file is also a valid zip.

The metadata flatbuffer classes come from MediaPipe's pure-Python copy of
the metadata schema (the `metadata` extra); the TFLite model schema from
`ai_edge_litert`.
"""

import io
import zipfile

from keras_mobilebert.utils.errors import MissingDependencyError

METADATA_NAME = "TFLITE_METADATA"
# BertTokenizerOptions appeared in metadata parser version 1.1.0.
MIN_PARSER_VERSION = "1.1.0"
VOCABULARY_FILE = "vocab.txt"
LABELS_FILE = "labels.txt"
SCORE_NAME = "probability"


def metadata_schema():
    """MediaPipe's pure-Python TFLite metadata schema module.

    The one place the schema is imported: the writer uses it, and the
    fine-tuning job calls it to learn whether metadata can be written.

    Raises:
        ImportError: naming the `metadata` extra when it is missing.

    Example:
    ```python
    schema = metadata_schema()
    ```
    """
    try:
        from mediapipe.tasks.metadata import metadata_schema_py_generated
    except ImportError as error:
        raise MissingDependencyError(
            "Writing TFLite metadata needs MediaPipe's metadata schema: "
            'pip install "keras-mobilebert[metadata]"'
        ) from error
    return metadata_schema_py_generated


def _input_names(model):
    """Signature input names in the order of the subgraph's inputs."""
    subgraph = model.subgraphs[0]
    names = []
    for index in subgraph.inputs:
        tensor_name = subgraph.tensors[index].name.decode("utf-8")
        # "serving_default_ids:0" -> "ids".
        name = tensor_name.split(":")[0]
        if name.startswith("serving_default_"):
            name = name[len("serving_default_") :]
        names.append(name)
    return names


INPUT_DESCRIPTIONS = {
    "ids": "WordPiece token ids, [CLS] first, padded with 0.",
    "mask": "1 for real tokens, 0 for padding.",
    "segment_ids": "0 for the first segment, 1 for the second.",
}


def _input_metadata(md, input_names):
    """Tensor metadata of the BERT inputs, in the subgraph's order."""
    return [
        _feature_tensor(md, name, INPUT_DESCRIPTIONS[name])
        for name in input_names
    ]


def _bert_inputs(model, what):
    """The subgraph's input names, checked to be the BERT inputs."""
    input_names = _input_names(model)
    expected = set(INPUT_DESCRIPTIONS)
    if set(input_names) != expected:
        raise ValueError(
            f"A BERT {what} needs inputs {sorted(expected)}; the model "
            f"has {input_names}. Export it with keras_mobilebert.export."
        )
    return input_names


def _feature_tensor(md, name, description):
    tensor = md.TensorMetadataT()
    tensor.name = name
    tensor.description = description
    tensor.content = md.ContentT()
    tensor.content.contentPropertiesType = (
        md.ContentProperties.FeatureProperties
    )
    tensor.content.contentProperties = md.FeaturePropertiesT()
    return tensor


def _tokenizer_unit(md):
    """The BertTokenizer process unit, its vocabulary an associated file."""
    vocab_file = md.AssociatedFileT()
    vocab_file.name = VOCABULARY_FILE
    vocab_file.description = "WordPiece vocabulary."
    vocab_file.type = md.AssociatedFileType.VOCABULARY
    tokenizer = md.ProcessUnitT()
    tokenizer.optionsType = md.ProcessUnitOptions.BertTokenizerOptions
    tokenizer.options = md.BertTokenizerOptionsT()
    tokenizer.options.vocabFile = [vocab_file]
    return tokenizer


def _pack(model, tflite_bytes, name, description, inputs, outputs, files):
    """The model with `ModelMetadata` and its associated files appended.

    Args:
        model: the `ModelT` of `tflite_bytes` (changed in place).
        tflite_bytes: bytes of the model.
        name, description: strings of the metadata.
        inputs, outputs: lists of `TensorMetadataT`, in the subgraph's
            input and output order.
        files: dict of associated file name to text.
    """
    import flatbuffers
    from ai_edge_litert import schema_py_generated as tfl

    md = metadata_schema()
    subgraph_metadata = md.SubGraphMetadataT()
    subgraph_metadata.inputTensorMetadata = inputs
    subgraph_metadata.outputTensorMetadata = outputs
    subgraph_metadata.inputProcessUnits = [_tokenizer_unit(md)]
    metadata = md.ModelMetadataT()
    metadata.name = name
    metadata.description = description
    metadata.version = "1"
    metadata.subgraphMetadata = [subgraph_metadata]
    metadata.minParserVersion = MIN_PARSER_VERSION
    builder = flatbuffers.Builder(1024)
    builder.Finish(metadata.Pack(builder), file_identifier=b"M001")
    metadata_bytes = bytes(builder.Output())

    buffer = tfl.BufferT()
    buffer.data = list(metadata_bytes)
    model.buffers.append(buffer)
    entry = tfl.MetadataT()
    entry.name = METADATA_NAME
    entry.buffer = len(model.buffers) - 1
    model.metadata = [
        m
        for m in (model.metadata or [])
        if m.name not in (METADATA_NAME, METADATA_NAME.encode())
    ] + [entry]
    builder = flatbuffers.Builder(len(tflite_bytes) + len(metadata_bytes))
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    packed = bytes(builder.Output())

    archive = io.BytesIO(packed)
    archive.seek(0, io.SEEK_END)
    with zipfile.ZipFile(archive, "a", zipfile.ZIP_STORED) as zipped:
        for file_name, text in files.items():
            zipped.writestr(file_name, text)
    return archive.getvalue()


def add_classifier_metadata(
    tflite_bytes,
    vocabulary,
    labels,
    name="MobileBERT classifier",
    description="MobileBERT text classifier (keras_mobilebert).",
):
    """Pack tokenizer and label metadata into a classifier `.tflite`.

    Args:
        tflite_bytes: bytes of a classifier exported by `to_litert` (inputs
            `ids`, `mask`, `segment_ids`, one float output: probabilities,
            or logits for a one-output head).
        vocabulary: list of WordPiece tokens, in id order.
        labels: list of class names, in class-index order.
        name: string. The model name in the metadata.
        description: string.

    Returns:
        bytes: the model with metadata and the vocabulary and label files
        attached.

    Example:
    ```python
    data = add_classifier_metadata(
        tflite_bytes, tokenizer.get_vocabulary(), ["negative", "positive"]
    )
    ```
    """
    from ai_edge_litert import schema_py_generated as tfl

    md = metadata_schema()
    model = tfl.ModelT.InitFromPackedBuf(bytearray(tflite_bytes), 0)
    input_names = _bert_inputs(model, "classifier")
    subgraph = model.subgraphs[0]
    if len(subgraph.outputs) != 1:
        raise ValueError(
            f"A classifier has one output; the model has "
            f"{len(subgraph.outputs)}."
        )
    inputs = _input_metadata(md, input_names)
    labels_file = md.AssociatedFileT()
    labels_file.name = LABELS_FILE
    labels_file.description = "Class names, one per line, in index order."
    labels_file.type = md.AssociatedFileType.TENSOR_AXIS_LABELS
    # The Task Library's BertNLClassifier finds its score tensor by this
    # metadata name (Model Maker's softmax output) and crashes without it.
    output = _feature_tensor(
        md,
        SCORE_NAME,
        "Class probabilities (softmax of the logits), one per label."
        if _output_names(model) == ["probabilities"]
        else "Classification logits, one per label.",
    )
    output.associatedFiles = [labels_file]
    return _pack(
        model,
        tflite_bytes,
        name,
        description,
        inputs,
        [output],
        {
            VOCABULARY_FILE: "\n".join(vocabulary) + "\n",
            LABELS_FILE: "\n".join(labels) + "\n",
        },
    )


SPAN_DESCRIPTIONS = {
    "start_logits": "Logit of the answer starting at each token.",
    "end_logits": "Logit of the answer ending at each token.",
}


def _output_names(model):
    """Signature output names in the order of the subgraph's outputs."""
    subgraph = model.subgraphs[0]
    by_index = {}
    for signature in model.signatureDefs or []:
        for tensor in signature.outputs or []:
            name = tensor.name
            if isinstance(name, bytes):
                name = name.decode("utf-8")
            by_index[tensor.tensorIndex] = name
    return [by_index.get(index) for index in subgraph.outputs]


def add_question_answerer_metadata(
    tflite_bytes,
    vocabulary,
    name="MobileBERT question answerer",
    description=(
        "MobileBERT extractive question answering (keras_mobilebert): "
        "[CLS] question [SEP] context [SEP] in, start and end logits per "
        "token out. Uncased WordPiece: lowercase the text first."
    ),
):
    """Pack tokenizer metadata into a question answerer's `.tflite`.

    What the TFLite Task Library's `BertQuestionAnswerer` (tflite-support
    0.4.4) reads: input tensor metadata named `ids`, `mask` and
    `segment_ids`; a BertTokenizer input process unit with the WordPiece
    vocabulary as an associated file (the Task Library lowercases the text
    itself); output tensor metadata named `end_logits` and
    `start_logits`, each on the output tensor of that signature name
    (the Task Library finds both by these names).

    Args:
        tflite_bytes: bytes of a question answerer exported by
            `to_litert` (inputs `ids`, `mask`, `segment_ids`; outputs
            `end_logits`, `start_logits`).
        vocabulary: list of WordPiece tokens, in id order.
        name: string. The model name in the metadata.
        description: string.

    Returns:
        bytes: the model with metadata and the vocabulary file attached.

    Example:
    ```python
    data = add_question_answerer_metadata(
        tflite_bytes, qa.preprocessor.tokenizer.get_vocabulary()
    )
    ```
    """
    from ai_edge_litert import schema_py_generated as tfl

    md = metadata_schema()
    model = tfl.ModelT.InitFromPackedBuf(bytearray(tflite_bytes), 0)
    input_names = _bert_inputs(model, "question answerer")
    output_names = _output_names(model)
    if sorted(str(n) for n in output_names) != sorted(SPAN_DESCRIPTIONS):
        raise ValueError(
            f"A question answerer outputs {sorted(SPAN_DESCRIPTIONS)}; the "
            f"model outputs {output_names}. Export it with "
            "keras_mobilebert.export.to_litert."
        )
    inputs = _input_metadata(md, input_names)
    outputs = [
        _feature_tensor(md, output_name, SPAN_DESCRIPTIONS[output_name])
        for output_name in output_names
    ]
    return _pack(
        model,
        tflite_bytes,
        name,
        description,
        inputs,
        outputs,
        {VOCABULARY_FILE: "\n".join(vocabulary) + "\n"},
    )


def read_metadata(tflite_bytes):
    """The TFLite metadata of a `.tflite` file, as a `ModelMetadataT`.

    Args:
        tflite_bytes: bytes of a model written by `add_classifier_metadata`.

    Returns:
        The metadata object of MediaPipe's schema, or None if the model
        has none.

    Example:
    ```python
    metadata = read_metadata(path.read_bytes())
    metadata.subgraphMetadata[0].outputTensorMetadata[0].name
    ```
    """
    from ai_edge_litert import schema_py_generated as tfl

    md = metadata_schema()
    model = tfl.Model.GetRootAs(tflite_bytes, 0)
    for index in range(model.MetadataLength()):
        entry = model.Metadata(index)
        if entry.Name().decode("utf-8") == METADATA_NAME:
            buffer = model.Buffers(entry.Buffer()).DataAsNumpy().tobytes()
            return md.ModelMetadataT.InitFromPackedBuf(buffer, 0)
    return None


def read_associated_files(tflite_bytes):
    """The associated files packed in a `.tflite` file, by name.

    Example:
    ```python
    files = read_associated_files(path.read_bytes())
    files["labels.txt"].decode().split()
    ```
    """
    with zipfile.ZipFile(io.BytesIO(tflite_bytes)) as zipped:
        return {name: zipped.read(name) for name in zipped.namelist()}
