package triage_test

import (
	"fmt"
	"os"
	"strings"

	"yici/router/triage"
)

func Example() {
	t, err := triage.Default()
	if err != nil {
		panic(err)
	}
	s := t.Suggest("住乐清市柳市镇，从昨天晚上开始整个村停电，到现在还没来电，冰箱里的东西都坏了。", "phone")
	fmt.Println(s.Category, s.TownshipCode, s.CountyCode, s.Kind, s.Urgency, s.LeadUnit, s.Confidence >= triage.AutoApplyThreshold)
	// Output:
	// 1102 330382114 330382 求助 urgent 3303-POWER true
}

func ExampleRunCLI() {
	t, err := triage.Default()
	if err != nil {
		panic(err)
	}
	in := `{"id":"a1","text":"杭州市西湖区文新街道某小区楼下饭店油烟直排","channel":"web"}
{"id":"a2","text":"","channel":"web"}
`
	if err := triage.RunCLI(strings.NewReader(in), os.Stdout, t); err != nil {
		panic(err)
	}
	// Output:
	// {"id":"a1","category":"0104","category_top3":["0104","0703","0102"],"township_code":"330106013","county_code":"330106","kind":"投诉","urgency":"normal","lead_unit":"330106013-ZF","confidence":0.99}
	// {"id":"a2","error":"line 2: no text"}
}
