package kiosk

import (
	"context"
	"net/http"
	"sort"
	"time"

	"yici/channels"
	"yici/internal/httpx"
	"yici/router/taxonomy"
	"yici/router/territory"
)

const (
	// buttons is how many categories the kiosk shows.
	buttons = 10
	// window is how far back cases are counted.
	window = 90 * 24 * time.Hour
	// minCases a category needs in the window to count as common: one
	// case in three months is an anecdote, not a pattern.
	minCases = 2
)

// defaultCategories are the big buttons when neither the township nor its
// county has enough cases: the everyday matters people walk up with.
var defaultCategories = []string{
	"0103", // 乱堆乱放与垃圾清运
	"0601", // 违章停车与占用通道
	"0502", // 社会生活噪声
	"0201", // 物业服务纠纷
	"0603", // 道路井盖与路灯
	"1101", // 停水与水质
	"0401", // 拖欠工资
	"0301", // 消费纠纷与预付卡
	"0104", // 餐饮油烟
	"1301", // 办事咨询与证照办理
	"1002", // 养老服务
	"0701", // 邻里与家庭纠纷
}

// hints are the short lines under a button, in the citizen's words.
var hints = map[string]string{
	"0101": "私搭乱建、违规加建",
	"0102": "流动摊贩、占道摆摊",
	"0103": "垃圾没人清、杂物乱堆",
	"0104": "饭店油烟直排、熏人",
	"0105": "广告牌、店招不安全或违规",
	"0106": "渣土车撒漏、工地扬尘",
	"0201": "物业不作为、收费争议",
	"0202": "房产证、不动产登记办理",
	"0203": "老小区改造、加装电梯",
	"0204": "房屋开裂、危房隐患",
	"0205": "群租房、出租房隐患",
	"0301": "商家纠纷、预付卡退费难",
	"0302": "食品变质、无证餐饮",
	"0303": "乱收费、价格欺诈",
	"0304": "无证无照经营",
	"0305": "电梯困人、故障隐患",
	"0306": "假药、违规卖药",
	"0401": "干了活拿不到工资",
	"0402": "社保缴费、转移接续",
	"0403": "医保参保、看病报销",
	"0404": "找工作、创业补贴",
	"0405": "养老金、退休手续",
	"0501": "工地夜间施工扰民",
	"0502": "广场舞、装修、商铺噪音",
	"0503": "工厂废气、难闻异味",
	"0504": "河道发黑发臭、偷排污水",
	"0505": "乱倒垃圾、危险废物",
	"0601": "乱停车、堵住消防通道",
	"0602": "公交不准点、出租车拒载",
	"0603": "井盖缺失、路灯不亮、路面坑洼",
	"0604": "红绿灯故障、标线不清",
	"0701": "邻里矛盾、家庭纠纷",
	"0702": "治安隐患、可疑情况",
	"0703": "消防通道堵塞、火灾隐患",
	"0704": "生产安全隐患",
	"0705": "户口、身份证、居住证",
	"0706": "诈骗、传销线索",
	"0801": "入学、学区划分",
	"0802": "校外培训乱象、退费",
	"0803": "学校管理、师德师风",
	"0901": "看病难、医疗纠纷",
	"0902": "疫苗接种、公共卫生",
	"1001": "低保、临时救助",
	"1002": "居家养老、养老机构",
	"1003": "残疾人补贴、助残服务",
	"1004": "结婚登记、殡葬服务",
	"1101": "停水、水质发黄",
	"1102": "停电、电压不稳",
	"1103": "燃气停供、闻到燃气味",
	"1104": "手机信号、宽带网络",
	"1201": "宅基地审批、农房建设",
	"1202": "征地拆迁、补偿安置",
	"1203": "种粮补贴、农机补贴",
	"1204": "动物疫病、病死畜禽",
	"1301": "办事指南、证件办理",
	"1302": "开办企业、营商环境",
	"1303": "办事拖拉、工作作风",
	"1401": "感谢表扬工作人员",
	"1402": "意见和建议",
}

// Category is one big button.
type Category struct {
	Code  string `json:"code"`
	Name  string `json:"name"`
	Group string `json:"group"`
	Hint  string `json:"hint"`
	// Source says why it is shown: township (common in the kiosk's
	// township), county (common in its county) or default.
	Source string `json:"source"`
}

// Place is a township or county.
type Place struct {
	Code  string `json:"code"`
	Name  string `json:"name"`
	Short string `json:"short,omitempty"`
	Home  bool   `json:"home,omitempty"`
}

// hintOf is the hint of a category; categories of an operator's own
// taxonomy without one get their group.
func hintOf(c *taxonomy.Category) string {
	if h, ok := hints[c.Code]; ok {
		return h
	}
	return c.Group + "方面的问题"
}

// forCitizens reports whether a citizen may pick the category themselves:
// not the hotline's own records (无效来电 and the like).
func forCitizens(c *taxonomy.Category) bool {
	return c != nil && !(c.SLAClass == taxonomy.SLARecord && c.TypicalKind == "其他")
}

type categoryCount struct {
	code             string
	township, county int
}

// counts returns, for each category with cases in the county since since,
// the cases of the township and of the county.
func (h *Handler) counts(ctx context.Context, township, county string, since time.Time) ([]categoryCount, error) {
	rows, err := h.cs.DB().Query(ctx, `SELECT category, count(*) FILTER (WHERE township_code = $2), count(*)
		FROM cases WHERE county_code = $1 AND created_at >= $3 AND category <> ''
		GROUP BY category`, county, township, since)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []categoryCount
	for rows.Next() {
		var c categoryCount
		if err := rows.Scan(&c.code, &c.township, &c.county); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// rank picks n categories: those common in the township (most cases
// first), then those common in the county, then the defaults, then the
// rest of the taxonomy.
func rank(tax *taxonomy.Taxonomy, counts []categoryCount, n int) []Category {
	out := make([]Category, 0, n)
	seen := map[string]bool{}
	add := func(code, source string) {
		c := tax.Category(code)
		if len(out) >= n || seen[code] || !forCitizens(c) {
			return
		}
		seen[code] = true
		out = append(out, Category{Code: c.Code, Name: c.Name, Group: c.Group, Hint: hintOf(c), Source: source})
	}
	byTownship := append([]categoryCount(nil), counts...)
	sort.Slice(byTownship, func(i, j int) bool {
		a, b := byTownship[i], byTownship[j]
		if a.township != b.township {
			return a.township > b.township
		}
		if a.county != b.county {
			return a.county > b.county
		}
		return a.code < b.code
	})
	for _, c := range byTownship {
		if c.township >= minCases {
			add(c.code, "township")
		}
	}
	byCounty := append([]categoryCount(nil), counts...)
	sort.Slice(byCounty, func(i, j int) bool {
		a, b := byCounty[i], byCounty[j]
		if a.county != b.county {
			return a.county > b.county
		}
		return a.code < b.code
	})
	for _, c := range byCounty {
		if c.county >= minCases {
			add(c.code, "county")
		}
	}
	for _, code := range defaultCategories {
		add(code, "default")
	}
	for _, c := range tax.Categories() {
		add(c.Code, "default")
	}
	return out
}

func place(d *territory.Division) *Place {
	if d == nil {
		return nil
	}
	return &Place{Code: d.Code, Name: d.Name, Short: d.Short()}
}

// handleCategories answers the big buttons of the kiosk's township.
func (h *Handler) handleCategories(w http.ResponseWriter, r *http.Request, key channels.Key) {
	var counts []categoryCount
	home := h.home(key)
	if home != nil {
		var err error
		counts, err = h.counts(r.Context(), home.Code, home.Parent, h.cs.Now().Add(-window))
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"township": place(home), "categories": rank(h.tax, counts, buttons)})
}

// handleTownships answers the kiosk's home township, then the other
// townships of its county by code, for a citizen reporting about
// elsewhere.
func (h *Handler) handleTownships(w http.ResponseWriter, r *http.Request, key channels.Key) {
	home := h.home(key)
	list := []Place{}
	var county *Place
	if home != nil {
		county = place(h.terr.Get(home.Parent))
		p := place(home)
		p.Home = true
		list = append(list, *p)
		for _, d := range h.terr.Townships(home.Parent) {
			if d.Code != home.Code && !territory.Placeholder(d.Name) {
				list = append(list, *place(d))
			}
		}
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"county": county, "townships": list})
}
