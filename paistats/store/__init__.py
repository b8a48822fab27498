"""The zoo store: Zarr v3 layout, durable writer, lazy reader, manifest. See docs/zoo-format.md."""
