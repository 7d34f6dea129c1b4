package taxonomy_test

import (
	"fmt"

	"yici/router/taxonomy"
)

func Example() {
	tax := taxonomy.Default()
	c := tax.Category("0104")
	fmt.Println(c.Code, c.Group, c.Name, c.Lead, c.Co, c.SLAClass, c.TypicalKind)
	// with a township, the township's platform leads; without one, its county line
	fmt.Println(tax.DefaultUnitID(c.Lead, "330106001", "330106"))
	fmt.Println(tax.DefaultUnitID(c.Lead, "", "330106"))
	fmt.Println(tax.DefaultUnitID("RSJ", "330106001", ""))
	fmt.Println(tax.DefaultUnitID("WATER", "", "330382"))
	fmt.Println(tax.DefaultUnitID("ZF", "", ""))
	// Output:
	// 0104 城市管理 餐饮油烟 ZF [STJ] normal 投诉
	// 330106001-ZF
	// 330106-ZFJ
	// 330106-RSJ
	// 3303-WATER
	// HC
}
