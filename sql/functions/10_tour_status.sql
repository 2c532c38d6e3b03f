-- The one definition of an active tour: it holds its place (occupancy, capacity, the cached `remaining`), may be
-- rescheduled or cancelled, and is still to happen. tour_booking.domain.enums.ACTIVE_STATUSES is the same set in
-- Python (tests/integration/test_schema.py compares them). IMMUTABLE and a single expression, so the planner
-- inlines it: `tour_is_active(status)` is `status IN ('scheduled', 'confirmed')` to the indexes.
CREATE OR REPLACE FUNCTION tour_is_active(p_status TEXT) RETURNS BOOLEAN
LANGUAGE sql IMMUTABLE AS $$
    SELECT p_status IN ('scheduled', 'confirmed')
$$;

COMMENT ON FUNCTION tour_is_active(TEXT) IS
    'A tour in this status (scheduled or confirmed) holds its place and is still to happen';
