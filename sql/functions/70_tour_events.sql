-- Tour events for DomIQ (sql/070): the trigger on tour_booking_sync writes the outbox row of every tour change in
-- the transaction of the change, whoever writes it.

-- The writer names its origin for its transaction: SELECT set_config('tour_booking.origin', 'domiq', true)
-- (transaction-local, safe behind RDS Proxy and PgBouncer); unset means 'system' (our own rules, an operator).
CREATE OR REPLACE FUNCTION tour_event_origin() RETURNS TEXT
LANGUAGE sql STABLE AS $$
    SELECT COALESCE(NULLIF(current_setting('tour_booking.origin', true), ''), 'system')
$$;

CREATE OR REPLACE FUNCTION record_tour_event() RETURNS TRIGGER
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
