"""The one place that knows where data lives and how to read and write it (see docs/scanning.md,
"Data locations"). Import from here: locations (the rule), readers, writers."""

from compliance.datasets.locations import (
    Location,
    LocationRefused,
    check,
    data_roots,
    from_command_line,
    resolve,
    resolve_asset,
    resolve_output,
    source_location,
    validate_location,
)
from compliance.datasets.readers import (
    ColumnSpec,
    ReadError,
    as_location,
    read_chunks,
    read_frame,
    read_sample,
    read_schema,
    row_count,
)
from compliance.datasets.writers import FrameWriter, TableHandle, WriteError, open_writer, write_frame

__all__ = [
    "ColumnSpec",
    "FrameWriter",
    "Location",
    "LocationRefused",
    "ReadError",
    "TableHandle",
    "WriteError",
    "as_location",
    "check",
    "data_roots",
    "from_command_line",
    "open_writer",
    "read_chunks",
    "read_frame",
    "read_sample",
    "read_schema",
    "resolve",
    "resolve_asset",
    "resolve_output",
    "row_count",
    "source_location",
    "validate_location",
    "write_frame",
]
