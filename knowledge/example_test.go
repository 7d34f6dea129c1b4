package knowledge_test

import (
	"fmt"
	"strings"

	"yici/knowledge"
)

func Example() {
	syn, _ := knowledge.ParseSynonyms(strings.NewReader("公积金,住房公积金\n"))
	// A citizen's question: fillers go, terms are character bigrams, and
	// a word of a synonym group brings its synonyms at a lower weight.
	a := knowledge.Analyze("请问公积金怎么提取？", syn)
	fmt.Println(a.Cleaned)
	for _, t := range a.Terms {
		fmt.Printf("%s %.2f\n", t.Term, t.Weight)
	}
	// Highlights are spans, rendered escaped.
	fmt.Println(knowledge.Highlight("住房公积金<提取>条件", a, 0).HTML())
	// Output:
	// 公积金 提取
	// 公积 1.00
	// 积金 1.00
	// 提取 1.00
	// 住房 0.35
	// 房公 0.35
	// <mark>住房公积金</mark>&lt;<mark>提取</mark>&gt;条件
}
