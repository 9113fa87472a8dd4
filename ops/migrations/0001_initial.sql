-- First schema: the recipe domain, the event outbox, idempotency, consumer de-duplication
-- and API keys. Rows that are updated carry a version for optimistic concurrency.

CREATE TABLE products (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL CHECK (length(btrim(name)) > 0),
    description text NOT NULL DEFAULT '',
    unit        text NOT NULL,
    version     integer NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
-- "Flour" and "flour" are the same product.
CREATE UNIQUE INDEX products_name_unique ON products (lower(name));

CREATE TABLE recipes (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title        text NOT NULL CHECK (length(btrim(title)) > 0),
    instructions text NOT NULL DEFAULT '',
    servings     integer CHECK (servings > 0),
    version      integer NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX recipes_title_idx ON recipes (lower(title));

CREATE TABLE recipe_items (
    recipe_id  bigint NOT NULL REFERENCES recipes (id) ON DELETE CASCADE,
    -- RESTRICT: a product still used by a recipe cannot disappear under it.
    product_id bigint NOT NULL REFERENCES products (id) ON DELETE RESTRICT,
    quantity   numeric(12, 3) NOT NULL CHECK (quantity > 0),
    unit       text NOT NULL,
    PRIMARY KEY (recipe_id, product_id)
);
CREATE INDEX recipe_items_product_idx ON recipe_items (product_id);

-- Events written in the same transaction as the change they describe; published after commit.
CREATE TABLE outbox (
    id             uuid PRIMARY KEY,
    type           text NOT NULL,
    subject        text NOT NULL,
    payload        jsonb NOT NULL,
    correlation_id text,
    occurred_at    timestamptz NOT NULL DEFAULT now(),
    published_at   timestamptz,
    attempts       integer NOT NULL DEFAULT 0,
    last_error     text
);
CREATE INDEX outbox_unpublished_idx ON outbox (occurred_at) WHERE published_at IS NULL;

-- A replayed write with the same Idempotency-Key gets the first answer back.
CREATE TABLE idempotency_keys (
    principal    text NOT NULL,
    key          text NOT NULL,
    request_hash text NOT NULL,
    status_code  integer,
    response     jsonb,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    PRIMARY KEY (principal, key)
);

-- Consumers are idempotent by event id: one row per (consumer, event) processed.
CREATE TABLE processed_events (
    consumer     text NOT NULL,
    event_id     uuid NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- Only a hash of each key is stored; the key itself is shown once, when created.
CREATE TABLE api_keys (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name         text NOT NULL,
    key_hash     text NOT NULL UNIQUE,
    key_prefix   text NOT NULL,
    scopes       text[] NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    last_used_at timestamptz
);
