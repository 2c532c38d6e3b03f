-- A tour deleted while ResMan may hold its appointment (sql/041): the BEFORE DELETE trigger keeps what the sync needs
-- to post its Cancel. Row-level triggers fire for rows deleted by ON DELETE CASCADE too. Only tours still active
-- and not started need a Cancel: a finished tour's outcome is ResMan's already, a past one is a no-show there.
CREATE OR REPLACE FUNCTION record_resman_tour_tombstone() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    IF tour_is_active(OLD.status) AND OLD.scheduled_datetime > clock_timestamp() THEN
        INSERT INTO resman_tour_tombstone (tour_id, property_id, resman_account_id, resman_property_id,
                                           resman_prospect_id, resman_appointment_id, tour_type,
                                           scheduled_datetime, prospect_info, version)
        SELECT OLD.id, OLD.property_id, s.resman_account_id, s.resman_property_id, OLD.resman_prospect_id,
               OLD.resman_appointment_id, OLD.tour_type, OLD.scheduled_datetime, OLD.prospect_info, OLD.version + 1
        FROM (SELECT 1) AS one LEFT JOIN tour_schedule s ON s.property_id = OLD.property_id
        ON CONFLICT (tour_id) DO NOTHING;
    END IF;
    RETURN OLD;
END
$$;

COMMENT ON FUNCTION record_resman_tour_tombstone() IS
    'Keeps a deleted active future tour''s ResMan ids so the sync can still post its Cancel';
