"""A prospect whose every detail is recognisable wherever a log line or a trace segment would spell it, for the tests
that prove prospect details never reach them."""

PROSPECT = {
    "first_name": "Zebulon",
    "last_name": "Quixotesque",
    "email": "zeb.quixotesque@example.org",
    "phone": "+1 (555) 013-4242",
}
# What the prospect told the chat (the guest card's preferences) and staff's notes: personal too.
NOTES = "Plinkerton gate code 8841"
PREFERENCES = {"move_in_date": "2027-06-01", "bedrooms": 2, "max_rent": 1999.0, "comment": "wants the Marzipanic loft"}
# What would betray the prospect, however a log line spelled it.
SECRETS = [
    "Zebulon",
    "Quixotesque",
    "zeb.quixotesque",
    "013-4242",
    "5550134242",
    "0134242",
    "Plinkerton",
    "gate code 8841",
    "Marzipanic",
    "Wrongname",
]
