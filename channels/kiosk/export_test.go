package kiosk

// Exported for the external tests.
var (
	HintOf      = hintOf
	ForCitizens = forCitizens
)
