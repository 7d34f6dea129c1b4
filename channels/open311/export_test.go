package open311

// The queries, for the plan checks of the external tests.
var (
	ListSQL  = listSQL
	BoundSQL = boundSQL
	StatesOf = statesOf
)
