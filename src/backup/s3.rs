//! S3-compatible object storage as a backup destination.
