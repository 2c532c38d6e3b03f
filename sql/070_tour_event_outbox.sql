-- Tour events for DomIQ (SPEC.md "Tour events"): an outbox written in the same transaction as every change of a
-- tour, whoever writes it (the booking API, the ResMan sync, the cache refresh, an operator's SQL), by a trigger
-- on tour_booking_sync. The event publisher (functions/event_publisher) claims pending rows with a lease, sends
-- them to EventBridge and marks them published in another transaction; published rows are pruned after
-- EVENT_RETENTION_DAYS (the bus's archive keeps them for replay).
CREATE TABLE tour_event_outbox (
    -- The publishing order: per tour, a later change waits for the tour's row lock, so it gets a higher seq.
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The same on every delivery of one event (a re-publish after a crash repeats it).
    event_id UUID NOT NULL DEFAULT gen_random_uuid() UNIQUE,
    detail_type TEXT NOT NULL,
    -- No foreign key: a tour's pending events still go out when DomIQ deletes its conversation.
    tour_id UUID NOT NULL,
    property_id UUID NOT NULL,
    conversation_id UUID NOT NULL,
    status TEXT NOT NULL,
    tour_type TEXT NOT NULL,
    scheduled_datetime TIMESTAMPTZ NOT NULL,
    previous_scheduled_datetime TIMESTAMPTZ,
    tour_version INTEGER NOT NULL,
    reminder_minutes INTEGER,
    origin TEXT NOT NULL,
    -- The property's zone when the event happened: the detail's times carry its offset.
    timezone TEXT NOT NULL DEFAULT 'UTC',
    occurred_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    -- A publisher's claim: nobody else sends the row until the lease has expired (a crashed publisher's rows
    -- come back by themselves); a failed entry's lease is its retry delay.
    lease_until TIMESTAMPTZ,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    published_at TIMESTAMPTZ,
    CONSTRAINT chk_tour_event_detail_type CHECK (detail_type IN (
        'TourBooked', 'TourRescheduled', 'TourConfirmed', 'TourCancelled', 'TourCompleted', 'TourNoShow',
        'TourSyncFailed', 'TourReminderDue')),
    CONSTRAINT chk_tour_event_origin CHECK (origin IN ('domiq', 'resman', 'system')),
    CONSTRAINT chk_tour_event_reminder CHECK ((detail_type = 'TourReminderDue') = (reminder_minutes IS NOT NULL))
);

COMMENT ON TABLE tour_event_outbox IS
    'Tour events for DomIQ, written with the change that caused them; published to EventBridge by event_publisher';
COMMENT ON COLUMN tour_event_outbox.origin IS
    'Who made the change: domiq (the booking API), resman (staff, read by the refresh) or system (our own rules)';

-- The publisher reads only what is pending, per tour in seq order; pruning reads what is published.
CREATE INDEX idx_tour_event_outbox_pending ON tour_event_outbox (tour_id, seq) WHERE published_at IS NULL;
CREATE INDEX idx_tour_event_outbox_published ON tour_event_outbox (published_at) WHERE published_at IS NOT NULL;

-- When a tour took its current start: a tour booked or moved inside a reminder's offset gets no reminder for it.
CREATE TABLE tour_reminder_arm (
    tour_id UUID PRIMARY KEY REFERENCES tour_booking_sync(id) ON DELETE CASCADE ON UPDATE CASCADE,
    scheduled_datetime TIMESTAMPTZ NOT NULL,
    armed_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
);
COMMENT ON TABLE tour_reminder_arm IS 'When each tour took its current start (reminders are armed from then)';

-- The reminders already issued: one per tour, start and offset (a reschedule to a new start re-arms them).
CREATE TABLE tour_reminder (
    tour_id UUID NOT NULL REFERENCES tour_booking_sync(id) ON DELETE CASCADE ON UPDATE CASCADE,
    scheduled_datetime TIMESTAMPTZ NOT NULL,
    reminder_minutes INTEGER NOT NULL,
    issued_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tour_id, scheduled_datetime, reminder_minutes)
);
COMMENT ON TABLE tour_reminder IS 'TourReminderDue events issued, once per tour, start and offset';
CREATE INDEX idx_tour_reminder_start ON tour_reminder (scheduled_datetime);

-- The writer names its origin for its transaction: SELECT set_config('tour_booking.origin', 'domiq', true)
-- (transaction-local, safe behind RDS Proxy and PgBouncer); unset means 'system' (our own rules, an operator).
CREATE FUNCTION tour_event_origin() RETURNS TEXT
LANGUAGE sql STABLE AS $$
    SELECT COALESCE(NULLIF(current_setting('tour_booking.origin', true), ''), 'system')
$$;

CREATE FUNCTION record_tour_event() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
DECLARE
    kinds TEXT[] := '{}';
    kind TEXT;
    zone TEXT;
    previous TIMESTAMPTZ;
BEGIN
    IF TG_OP = 'INSERT' THEN
        kinds := ARRAY['TourBooked'];
    ELSE
        IF NEW.scheduled_datetime IS DISTINCT FROM OLD.scheduled_datetime THEN
            kinds := kinds || 'TourRescheduled'::TEXT;
            previous := OLD.scheduled_datetime;
        END IF;
        IF NEW.status IS DISTINCT FROM OLD.status THEN
            kind := CASE NEW.status
                WHEN 'confirmed' THEN 'TourConfirmed'
                WHEN 'cancelled' THEN 'TourCancelled'
                WHEN 'completed' THEN 'TourCompleted'
                WHEN 'no_show' THEN 'TourNoShow'
            END;
            IF kind IS NOT NULL THEN
                kinds := kinds || kind;
            END IF;
        END IF;
        IF NEW.sync_status = 'failed' AND OLD.sync_status IS DISTINCT FROM 'failed' THEN
            kinds := kinds || 'TourSyncFailed'::TEXT;
        END IF;
    END IF;
    IF TG_OP = 'INSERT' OR NEW.scheduled_datetime IS DISTINCT FROM OLD.scheduled_datetime THEN
        INSERT INTO tour_reminder_arm AS a (tour_id, scheduled_datetime) VALUES (NEW.id, NEW.scheduled_datetime)
        ON CONFLICT (tour_id) DO UPDATE SET scheduled_datetime = EXCLUDED.scheduled_datetime,
                                            armed_at = EXCLUDED.armed_at;
    END IF;
    IF cardinality(kinds) = 0 THEN
        RETURN NULL;
    END IF;
    SELECT s.timezone INTO zone FROM tour_schedule s WHERE s.property_id = NEW.property_id;
    INSERT INTO tour_event_outbox (detail_type, tour_id, property_id, conversation_id, status, tour_type,
                                   scheduled_datetime, previous_scheduled_datetime, tour_version, origin, timezone)
    SELECT k, NEW.id, NEW.property_id, NEW.conversation_id, NEW.status, NEW.tour_type, NEW.scheduled_datetime,
           CASE WHEN k = 'TourRescheduled' THEN previous END, NEW.version, tour_event_origin(),
           COALESCE(zone, 'UTC')
    FROM unnest(kinds) WITH ORDINALITY AS u(k, n) ORDER BY n;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION record_tour_event() IS
    'Writes the outbox row of every tour change DomIQ hears of, in the transaction of the change';

CREATE TRIGGER trg_tour_booking_sync_event AFTER INSERT OR UPDATE OF scheduled_datetime, status, sync_status
    ON tour_booking_sync FOR EACH ROW EXECUTE FUNCTION record_tour_event();
