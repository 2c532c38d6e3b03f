-- What the prospect told the chat about what they want (move-in date, bedrooms, budget, a comment): stored with
-- the tour, answered in its JSON and synced to the guest card's MITS CustomerPreferences.
ALTER TABLE tour_booking_sync ADD COLUMN preferences JSONB;
ALTER TABLE tour_booking_sync ADD CONSTRAINT chk_tour_booking_preferences_object
    CHECK (preferences IS NULL OR jsonb_typeof(preferences) = 'object');

COMMENT ON COLUMN tour_booking_sync.preferences IS
    'move_in_date, bedrooms, max_rent, comment: the prospect''s wishes for the guest card (may be personal data, never logged)';
