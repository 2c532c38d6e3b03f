"""The booking API's HTTP layer: routes, request/response models, and the mapping of errors to the contract."""
