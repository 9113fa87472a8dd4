-- The S3 key of a recipe's image, set when an upload URL is handed out.
ALTER TABLE recipes ADD COLUMN image_key text;
