CREATE OR REPLACE VIEW tour_booking_success_rate AS
SELECT
    property_id,
    COUNT(*) FILTER (WHERE status = 'completed')::float / NULLIF(COUNT(*), 0) * 100 AS completion_rate,
    COUNT(*) FILTER (WHERE sync_status = 'success')::float / NULLIF(COUNT(*), 0) * 100 AS sync_success_rate
FROM tour_booking_sync
GROUP BY property_id;

COMMENT ON VIEW tour_booking_success_rate IS 'Per property: percent of tours completed and percent synced to ResMan';
