"""The booking API's HTTP layer: the app and its routers, the HTTP-only models, the OpenAPI responses, and the
answers of domain errors in the contract's shape. Only this package knows statuses, request locations and bodies."""
