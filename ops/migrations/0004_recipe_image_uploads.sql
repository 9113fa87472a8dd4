-- When the recorded image was uploaded (its S3 object's LastModified): S3 notifications come in
-- no set order, and an upload checked after a later one was recorded must not replace it.
ALTER TABLE recipes ADD COLUMN image_uploaded_at timestamptz;
