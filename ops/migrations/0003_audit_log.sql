-- One row per event the audit consumer saw; the event id makes a redelivery a no-op.
CREATE TABLE audit_log (
    event_id    uuid PRIMARY KEY,
    type        text NOT NULL,
    subject     text NOT NULL,
    occurred_at timestamptz NOT NULL,
    data        jsonb NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_subject_idx ON audit_log (type, subject);
