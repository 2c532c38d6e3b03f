"""One Powertools Router per resource of the booking API; tour_booking.api.app joins them.

Cold start: a route imports its service (and through it psycopg and the SQL modules) when it is first called, so
the init imports only the routers and the models their validation needs, and an availability read never loads the
booking modules.
"""
