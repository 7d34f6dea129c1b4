package territory

import (
	"strings"
	"unicode/utf8"
)

// ethnic groups that occur in the names of autonomous divisions
// (景宁畲族自治县, 莪山畲族乡, 恩施土家族苗族自治州 ...).
var ethnicGroups = strings.Fields(`蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 傈僳 佤 畲
	高山 拉祜 水 东乡 纳西 景颇 柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 普米 塔吉克 怒
	乌孜别克 俄罗斯 鄂温克 德昂 保安 裕固 京 塔塔尔 独龙 鄂伦春 赫哲 门巴 珞巴 基诺 各`)

var levelSuffixes = map[string][]string{
	LevelProvince: {"特别行政区", "自治区", "省", "市"},
	LevelCity:     {"自治州", "地区", "盟", "市"},
	LevelCounty:   {"自治县", "自治旗", "林区", "特区", "新区", "县", "区", "市", "旗"},
	LevelTownship: {"街道办事处", "民族乡", "民族镇", "民族苏木", "街道", "苏木", "镇", "乡"},
}

// townshipSuffixes are the words that, after a township stem, mark it as a
// township name even when the citizen uses another suffix than the
// official one (柳市 + 镇/乡/街道).
var townshipSuffixes = []string{"街道办事处", "街道办", "街道", "街办", "镇", "乡"}

// stripEthnic removes trailing ethnic markers: 景宁畲族 -> 景宁, 恩施土家族苗族 -> 恩施.
func stripEthnic(s string) string {
	for {
		if !strings.HasSuffix(s, "族") {
			return s
		}
		base := strings.TrimSuffix(s, "族")
		found := false
		for _, e := range ethnicGroups {
			if strings.HasSuffix(base, e) && utf8.RuneCountInString(base)-utf8.RuneCountInString(e) >= 2 {
				s = strings.TrimSuffix(base, e)
				found = true
				break
			}
		}
		if !found {
			return s
		}
	}
}

// ShortName returns the common short form of a division name of the given
// level, as people say it: 文新街道→文新, 智仁乡→智仁, 乐清市→乐清, 西湖区→西湖,
// 长兴县→长兴, 景宁畲族自治县→景宁, 温州市→温州, 莪山畲族乡→莪山. It returns ""
// when the name has no safe short form: the stem would be a single character
// (城区→城), the name is not a standard name of its level (萧山经济技术开发区,
// 红山农场), or it is a structural row (市辖区).
func ShortName(name, level string) string {
	if unmatchableName(name) || Placeholder(name) {
		return ""
	}
	sfx, ok := levelSuffixes[level]
	if !ok {
		return ""
	}
	stem := ""
	for _, s := range sfx {
		if strings.HasSuffix(name, s) {
			stem = strings.TrimSuffix(name, s)
			break
		}
	}
	if stem == "" {
		return ""
	}
	if level == LevelCounty || level == LevelProvince || level == LevelCity {
		stem = strings.TrimSuffix(stem, "自治") // 新疆维吾尔自治区 after 自治区 is gone: no-op; kept for safety
	}
	stem = stripEthnic(stem)
	if level == LevelProvince {
		// 新疆维吾尔 (自治区), 宁夏回族: the ethnic name may come without 族
		for _, e := range ethnicGroups {
			if strings.HasSuffix(stem, e) && utf8.RuneCountInString(stem)-utf8.RuneCountInString(e) >= 2 {
				stem = strings.TrimSuffix(stem, e)
				break
			}
		}
	}
	if utf8.RuneCountInString(stem) < 2 {
		return ""
	}
	return stem
}

// commonWords are township or county stems that are also ordinary Chinese
// words or phrase fragments, so that seeing them in a text says little about
// a place: nouns of everyday scenery (大门 街头 村头 桥下 河上 墙头 菜园 岔路),
// verbs and adjectives (留下 进化 平和 和睦), historical and literary words
// (南宋 西周 大唐 状元 竹马), names of famous places elsewhere (外滩 北海 太湖)
// and the generic names of zones (开发区 新区 中心). Such a stem counts as a
// township only with a suffix (镇/乡/街道) or with its county named in the
// same text. The list was drawn up by reading every township and county stem
// of the data for words that are ordinary vocabulary, not from any text.
var commonWords = toSet(`
	留下 街头 大门 大地 村头 桥下 河上 墙头 菜园 岔路 山川 平和 和睦 进化 道场 骆驼 大麻 灵芝 花鸟 广度
	文教 状元 玲珑 聚贤 竹马 百官 大战 千金 前所 前路 半山 长街 长河 武林 凯旋 佛堂 外滩 北海 太湖 天水
	海门 南宋 西周 大唐 上官 诸葛 西门 朝晖 春江 望江 山门 石柱 埠头 环山 路北 大关 大盘 小港 万象
	上方 东极 一市 天成 平田 明楼 星海 望海 河山 湖山 青石 长水 海山 石室 新新 新明 大南 南星 南明
	秀山 福全 田市 高市 胜山 贵门 百步 白洋 五常 临山 古市 大桥头 新区 中心 开发区 保税区 工业园区
	人民 新华 解放 和平 建设 胜利 光明 朝阳 东方 前进 红旗 幸福 花园 公园 大桥 桥头 新城 城关 城区 市区
	江南 江北 江东 城东 城西 城南 城北 城中 东城 西城 南城 北城 中山 长安 太平 永安 新安 黄山 白云 凤凰
`)

func toSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, f := range strings.Fields(s) {
		m[f] = true
	}
	return m
}

// riskyCountyStems are county short names that, alone, are more often an
// ordinary word than the county: 天台 (roof terrace), 路桥 (roads and
// bridges), 滨江 and 江北 (riversides), 钱塘 and 衢江 (rivers that run
// through several counties), 象山 (a common hill name), 临海 (seaside), 海盐
// (sea salt), and generic district words. They count as a county only next
// to a city or township name or with their suffix.
var riskyCountyStems = toSet(`天台 路桥 滨江 江北 钱塘 衢江 象山 临海 海盐
	城区 郊区 矿区 新区 长安 朝阳 和平 东城 西城 南城 北城 城中 江南 江东 海门 三江`)

// ordinary words that may follow a township stem and make it the name of
// something else: a road, a village, a company, a school, a river ...
// (文新路, 新塘村, 柳市中学). A stem followed by one of them is not taken as
// a township mention unless its suffix is there too.
var blockingFollowers = []string{
	"路", "大道", "大街", "街", "巷", "弄", "村", "社区", "小区", "花园", "公寓", "苑", "大厦", "广场", "公园",
	"公司", "集团", "厂", "中学", "小学", "学校", "幼儿园", "大学", "学院", "医院", "宾馆", "酒店", "饭店", "银行",
	"桥", "山", "江", "河", "湖", "溪", "港", "岛", "湾", "塔", "寺", "庙", "站", "机场", "码头", "水库", "隧道",
	"商场", "超市", "店", "府", "庄", "坊", "大楼", "坝", "大队",
}

// boundaryChars are characters that often end a word (楼下, 村里, 屋后, 我家,
// 位于) or are function words. A bare stem starting with one of them (下管,
// 里山, 后宅, 家地, 于城) may straddle two words (楼下+管道, 村里+山上,
// 屋后+宅基地, 我家+地下室, 位于+城区), so right after another Han character it
// counts only with its county named.
var boundaryChars = toRuneSet("家下上于里后前中内外在的了是和到这那个有就不也都要会给对从向边头面时年人们我你他她其该此")

// locativeChars may stand right before a place name (在下沙, 住前仓, 到里山).
var locativeChars = toRuneSet("在住到去来往回从是近离")

func toRuneSet(s string) map[rune]bool {
	m := map[rune]bool{}
	for _, r := range s {
		m[r] = true
	}
	return m
}

// roadLike reports whether s starts like the rest of a road name: an
// optional direction or ordinal, then 路/街/大道/巷/弄 (紫港东路, 文新一路).
func roadLike(s string) bool {
	for _, p := range []string{"东", "西", "南", "北", "中", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十"} {
		if strings.HasPrefix(s, p) {
			s = s[len(p):]
			break
		}
	}
	_, ok := hasAnyPrefix(s, []string{"路", "街", "大道", "大街", "巷", "弄"})
	return ok && !strings.HasPrefix(s, "街道")
}

func hasAnyPrefix(s string, ps []string) (string, bool) {
	for _, p := range ps {
		if strings.HasPrefix(s, p) {
			return p, true
		}
	}
	return "", false
}
