package territory_test

import (
	"fmt"

	"yici/router/territory"
)

func Example() {
	z := territory.Zhejiang()
	m := z.MatchAddress("住温州市乐清市智仁乡寨头村，村口溪坑里有死猪")
	fmt.Println(m.TownshipCode, m.CountyCode, m.CityCode, z.FullName(m.TownshipCode))
	m = z.MatchAddress("乐清这边停电了") // a county only: no township is guessed
	fmt.Printf("%q %s %s\n", m.TownshipCode, m.CountyCode, m.CityCode)
	fmt.Println(territory.ShortName("景宁畲族自治县", territory.LevelCounty), territory.ShortName("文新街道", territory.LevelTownship))
	// Output:
	// 330382210 330382 3303 温州市乐清市智仁乡
	// "" 330382 3303
	// 景宁 文新
}
