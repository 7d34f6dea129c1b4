package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"yici/router/territory"
)

// What citizens write: requests of the common categories of a Zhejiang
// 12345 line, in their own words, about a real township of the province.
// The text is written for this tool; triage has never seen it.

// topic is one category's way of being told.
type topic struct {
	cat    string   // taxonomy code (for the filler; submissions let triage decide)
	kind   string   // the kind a citizen would pick
	weight int      // share of the line's traffic
	issues []string // what is wrong; [a|b] picks one, {P} is the place
	asks   []string // what they want
}

var topics = []topic{
	{"0101", "举报", 4, []string{
		"{P}[顶楼|楼顶平台]有住户[私自|偷偷]搭了一间[彩钢房|阳光房|铁皮房]，[物业劝了不听|已经快完工了|每天都有工人在施工]",
		"{P}有人在[河边|村道旁|耕地上]盖了[一排|几间][厂房|简易房]，没有看到任何审批公示",
		"{P}一楼住户把院子围起来[盖了房子|搭了棚子|砌了围墙]，占了公共绿地"},
		[]string{"请城管[尽快|依法]查处违建。", "希望执法部门到现场核实并责令拆除。"}},
	{"0102", "投诉", 4, []string{
		"{P}[每天早上|一到晚上|周末]有[很多|十几个]流动摊贩[占道经营|摆摊叫卖]，[人行道都走不了|车子开不过去|垃圾满地]",
		"{P}[水果店|小吃店|超市]把货物摆到人行道上经营，行人只能走机动车道"},
		[]string{"请城管加强巡查管理。", "希望规范一下摊贩，设置临时摊区。"}},
	{"0103", "投诉", 5, []string{
		"{P}[垃圾桶|垃圾房]已经[三天|一个星期|好几天]没人清运，[臭气熏天|苍蝇蚊子很多|垃圾都堆到路上了]",
		"{P}楼道里被人堆满了[杂物|纸板|旧家具]，[物业不管|存在消防隐患]",
		"{P}路边有人乱倒[建筑垃圾|装修垃圾]，已经堆了[一大堆|好几车]"},
		[]string{"请环卫部门尽快清运。", "希望有关部门来处理一下。"}},
	{"0104", "投诉", 5, []string{
		"{P}楼下[烧烤店|饭店|小吃店]油烟直排，[晚上整栋楼都是油烟味|窗户都不敢开|衣服都晒不了]",
		"{P}一家[餐馆|夜宵店]没有装油烟净化器，油烟直接往居民楼里飘"},
		[]string{"请执法部门查一查有没有油烟净化设施。", "希望督促商家整改。"}},
	{"0106", "投诉", 3, []string{
		"{P}[渣土车|工程车][每天晚上|半夜]来回跑，[沿路撒落泥土|扬尘很大|车速很快]",
		"{P}工地[没有围挡|不洒水降尘|裸土不覆盖]，[风一吹全是灰|家里窗台上都是灰]"},
		[]string{"请有关部门管一管工地扬尘。", "希望查处撒漏的渣土车。"}},
	{"0201", "投诉", 6, []string{
		"{P}物业[收了物业费不干事|长期不打扫卫生|电梯坏了不修|停车乱收费]，业主意见很大",
		"{P}小区物业[擅自涨价|公共收益不公开|换了物业公司没有开业主大会]",
		"{P}我家[楼上漏水|外墙渗水]好几个月了，物业一直推脱不处理"},
		[]string{"请住建部门督促物业整改。", "希望街道协调解决。"}},
	{"0203", "求助", 2, []string{
		"{P}是老小区，[楼里很多老人|我家老人腿脚不便]，想加装电梯但[一楼住户不同意|不知道怎么申请补贴]",
		"{P}老旧小区改造[施工拖了半年|把路挖开就不管了|管道改得乱七八糟]"},
		[]string{"请问政策是怎么规定的？", "希望社区帮忙协调。"}},
	{"0205", "投诉", 2, []string{
		"{P}有一套房子被隔成[十几间|好多小间]群租，[人员进出复杂|晚上很吵|电动车在楼道充电]",
		"{P}出租房里住了很多人，[消防通道被堵|垃圾乱扔]，存在安全隐患"},
		[]string{"请有关部门上门检查。", "希望依法整治群租。"}},
	{"0301", "投诉", 5, []string{
		"我在{P}的[健身房|美容院|培训机构|理发店]办了[三千元|五千元|两千多元]的预付卡，现在[突然关门了|老板跑路了|不给退钱]",
		"在{P}一家[超市|商场|网店实体店]买的[电视机|手机|衣服]有质量问题，商家拒绝退换"},
		[]string{"请市场监管部门帮忙维权。", "希望督促商家退款。"}},
	{"0302", "举报", 3, []string{
		"{P}一家[小吃店|饭店|奶茶店]后厨[卫生很差|有老鼠|用过期食材]，吃了以后[拉肚子|身体不舒服]",
		"{P}菜场里有摊位在卖[病死猪肉|注水肉|来路不明的冻品]"},
		[]string{"请市场监管部门去检查。", "希望依法查处。"}},
	{"0305", "求助", 3, []string{
		"{P}[小区|写字楼|商场]的电梯[经常困人|运行时异响|门关不上]，[今天又把人关在里面了|年检标志过期了]",
		"{P}电梯[坏了一个多月|停运好几天]没人修，楼里老人上下楼很困难"},
		[]string{"请特种设备监管部门尽快处理。", "希望督促维保单位维修。"}},
	{"0401", "求助", 6, []string{
		"我在{P}的一个[工地|厂里|装修公司]干活，老板拖欠[三个月|半年|两个月]工资[一万多元|八千元|两万多元]不给",
		"{P}一家[公司|餐馆|工厂]倒闭了，还欠我们[十几个|二十多个]员工的工资"},
		[]string{"请劳动监察部门帮我们讨薪。", "希望尽快帮忙追回工资。"}},
	{"0402", "咨询", 3, []string{
		"我现在在{P}上班，想问一下[社保怎么从外省转过来|灵活就业社保怎么交|断缴了怎么补]",
		"公司在{P}，[没有给我交社保|社保基数按最低交]，想咨询一下怎么办"},
		[]string{"请告知办理流程。", "需要带哪些材料？"}},
	{"0403", "咨询", 3, []string{
		"家住{P}，想问[异地就医怎么备案|门诊费用能报多少|新生儿医保怎么参保]",
		"在{P}看病，医保[报销比例不对|刷不了卡|结算出了问题]"},
		[]string{"请帮忙解答。", "麻烦告知一下政策。"}},
	{"0501", "投诉", 6, []string{
		"{P}工地[每天晚上|半夜十二点以后|凌晨三四点]还在施工，[打桩声|机器声|电锯声]吵得根本睡不着",
		"{P}[工地|道路施工]夜间施工噪声扰民，[已经连续一个星期了|家里老人小孩都睡不好]"},
		[]string{"请查一下有没有夜间施工许可。", "希望有关部门制止夜间施工。"}},
	{"0502", "投诉", 5, []string{
		"{P}[广场舞|KTV|酒吧|棋牌室]音响开得很大，[每天到晚上十点多|一直到凌晨]，严重影响休息",
		"{P}楼上住户[每天半夜|深夜]敲敲打打，[沟通过好几次|物业也没办法]"},
		[]string{"请有关部门管一管噪声。", "希望能协调解决。"}},
	{"0503", "投诉", 3, []string{
		"{P}附近的[化工厂|印染厂|橡胶厂][每天晚上|一到下雨天]排放刺鼻气味，[嗓子都疼|晚上不敢开窗]",
		"{P}有家[小作坊|厂]烧[塑料|垃圾]，冒黑烟，气味很难闻"},
		[]string{"请环保部门查一查。", "希望依法查处偷排。"}},
	{"0504", "举报", 2, []string{
		"{P}的[河道|小河|池塘]水发黑发臭，[有排污口往里排水|死了很多鱼]",
		"{P}有企业往[河里|雨水管]偷排污水，[水都变颜色了|下游都是泡沫]"},
		[]string{"请环保部门尽快查处。", "希望查清污染来源。"}},
	{"0601", "投诉", 6, []string{
		"{P}[小区门口|消防通道|人行道上][天天|长期]停满了车，[救护车都进不来|行人没法走|出行很不方便]",
		"{P}有辆车[占用我的车位|堵在我家门口|停在盲道上][好几天了|一整天]，联系不上车主"},
		[]string{"请交警来处理违停。", "希望加强巡查。"}},
	{"0602", "投诉", 3, []string{
		"在{P}坐[公交车|出租车]，[司机态度很差|出租车拒载|公交车不进站|绕路多收钱]",
		"{P}的[公交站|公交线路][班次太少|经常等不到车|末班车提前]"},
		[]string{"请交通部门核实处理。", "希望改进服务。"}},
	{"0603", "求助", 5, []string{
		"{P}的[路灯|一排路灯][坏了好几天|晚上不亮]，[晚上走路很危险|有老人摔倒了]",
		"{P}路上的[井盖|窨井盖][松动了|不见了|破了一个大洞]，[很危险|电动车差点摔了]",
		"{P}的路面[坑坑洼洼|塌了一块|积水很深]，[下雨天根本没法走|已经有人摔跤了]"},
		[]string{"请尽快派人维修。", "希望有关部门尽快处理，以免出事。"}},
	{"0604", "建议", 2, []string{
		"{P}的路口[没有红绿灯|红绿灯时间太短|斑马线看不清]，[上下学时孩子过马路很危险|经常发生剐蹭]",
		"建议在{P}[增设减速带|加装红绿灯|重新画斑马线]"},
		[]string{"请交警部门考虑。", "希望能采纳。"}},
	{"0701", "求助", 4, []string{
		"我住{P}，和[邻居|楼上住户|隔壁]因为[漏水|噪声|公共楼道堆物|养狗]闹了矛盾，[沟通不了|吵了好几次]",
		"{P}有[兄弟|一家人]因为[老房子拆迁款|赡养老人]闹得很僵，[需要人调解|已经动过手]"},
		[]string{"请社区帮忙调解。", "希望有人出面协调。"}},
	{"0702", "举报", 2, []string{
		"{P}[晚上|深夜]经常有[陌生人聚集|人赌博|人打架]，[居民很害怕|治安很乱]",
		"{P}[小区门禁坏了|监控坏了]很久，[最近电动车被偷了好几辆|有人进楼推销]"},
		[]string{"请派出所加强巡逻。", "希望有关部门排查一下。"}},
	{"0703", "举报", 3, []string{
		"{P}[楼道里|地下室]有人给电动车充电，[电线拉得乱七八糟|消防通道被堵]，太危险了",
		"{P}[消防栓没水|灭火器过期|安全出口被锁]，存在很大的消防隐患"},
		[]string{"请消防部门尽快检查。", "希望消除隐患。"}},
	{"0705", "咨询", 2, []string{
		"家在{P}，想问一下[孩子落户|身份证到期换领|居住证]需要[什么材料|去哪里办]",
		"我[户口在{P}|在{P}租房]，想办[居住证|户口迁移]，不知道流程"},
		[]string{"请告知办理流程。", "谢谢。"}},
	{"0801", "咨询", 3, []string{
		"家住{P}，孩子明年[上小学|上初中]，想问[学区怎么划分|积分入学怎么算|需要哪些材料]",
		"我们在{P}[买了房|租房住]，孩子[能不能就近入学|入学报名被拒]"},
		[]string{"请教育部门解答。", "麻烦回复一下。"}},
	{"0802", "投诉", 2, []string{
		"{P}一家[培训机构|辅导班][收了一年学费后关门|不肯退费|违规上课]，[家长们都联系不上老板|还有几千元没上]",
		"孩子在{P}的[托管班|培训班][环境很差|没有资质]"},
		[]string{"请教育部门查处。", "希望帮家长退费。"}},
	{"0901", "投诉", 2, []string{
		"在{P}的[卫生院|医院|社区卫生服务中心]看病，[医生态度很差|排队几个小时|乱开检查]",
		"{P}[卫生院|医院][收费不明|多收了钱]，去问也没人解释"},
		[]string{"请卫健部门核查。", "希望给个说法。"}},
	{"1001", "求助", 2, []string{
		"我家在{P}，[父亲重病|家里有残疾人|丈夫去世了]，生活很困难，想申请[低保|困难补助|临时救助]",
		"{P}有位[独居老人|孤寡老人]生活困难，[没人照顾|吃饭都成问题]"},
		[]string{"请民政部门帮帮忙。", "希望社区上门看一看。"}},
	{"1002", "求助", 2, []string{
		"家在{P}，[母亲今年八十多了|家里有失能老人]，想问[居家养老服务怎么申请|养老院怎么排队]",
		"{P}的[老年食堂|养老服务中心][关了|饭菜太差|收费涨了]"},
		[]string{"请帮忙解答。", "希望有关部门关心一下。"}},
	{"1101", "求助", 5, []string{
		"{P}[从早上开始|已经一整天|昨晚开始]停水了，[没有任何通知|家里老人孩子没水用]",
		"{P}自来水[发黄|有异味|水压很小]，[烧开了还有沉淀|已经好几天了]"},
		[]string{"请自来水公司尽快处理。", "什么时候能恢复供水？"}},
	{"1102", "求助", 5, []string{
		"{P}[突然停电|一直跳闸|电压不稳]，[已经好几个小时了|冰箱里的东西都坏了]",
		"{P}[电线杆倾斜|电线垂下来|变压器有异响]，很危险"},
		[]string{"请供电公司尽快来修。", "什么时候能来电？"}},
	{"1103", "求助", 3, []string{
		"{P}[闻到很浓的燃气味|燃气管道漏气|燃气表坏了]，[很害怕|已经开窗了]",
		"{P}的燃气[一直开不了户|停气没有通知|收费不对]"},
		[]string{"请燃气公司马上派人来看。", "请尽快处理。"}},
	{"1104", "投诉", 2, []string{
		"{P}[手机信号很差|宽带经常断网|光纤装了半个月装不好]，[打电话都听不清|影响上网课]",
		"{P}的运营商[乱扣费|办了套餐不给退|上门安装一直拖]"},
		[]string{"请运营商解决。", "希望督促处理。"}},
	{"1202", "投诉", 2, []string{
		"{P}[征地|拆迁]补偿[标准太低|迟迟不到位|和别人家不一样]，[去问了好几次|村里说不清楚]",
		"我家在{P}的[房子|承包地]被征收了，补偿款到现在还没拿到"},
		[]string{"请有关部门核实。", "希望给个明确答复。"}},
	{"1301", "咨询", 4, []string{
		"想在{P}办理[营业执照|不动产证|结婚登记|公积金提取]，请问[需要什么材料|能不能网上办|在哪里办]",
		"在{P}的办事大厅办事，[来回跑了三次还没办好|窗口让我回去开证明]"},
		[]string{"请告知一下流程。", "希望一次办好。"}},
	{"1303", "投诉", 2, []string{
		"去{P}的[办事窗口|村委|社区]办事，工作人员[态度很差|玩手机不理人|上班时间不在岗]",
		"{P}[村干部|社区工作人员][办事推诿|让我们跑了好几趟]"},
		[]string{"请纪检部门核查。", "希望改进作风。"}},
	{"1401", "表扬", 1, []string{
		"感谢{P}的[社区工作人员|网格员|城管队员|民警]，[帮我们解决了漏水问题|帮老人找回了走失的孩子|连夜修好了路灯]",
		"{P}的[工作人员|师傅]服务很好，[上门帮我办好了手续|耐心解答问题]"},
		[]string{"特此表扬！", "希望转达谢意。"}},
	{"1402", "建议", 1, []string{
		"建议在{P}[增加公共厕所|多设几个垃圾分类点|建一个口袋公园|增设充电桩]",
		"{P}[公交站没有遮雨棚|路边缺少座椅|停车位太少]，建议改进"},
		[]string{"希望采纳。", "谢谢。"}},
}

var openers = []string{"", "", "", "你好，", "您好，", "反映一个问题：", "我要反映：", "麻烦问一下，"}

var surnames = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁沈任姚卢傅钟姜崔谭陆汪范金石廖贾夏韦方邱侯邹熊孟秦白江阎薛尹段雷黎史龙陶贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
var givenNames = []string{"伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "霞", "平",
	"刚", "桂英", "建华", "建国", "海燕", "晓东", "志强", "丽娟", "国平", "亚萍", "小红", "浩", "宇", "欣怡", "子涵", "梓轩", "一鸣", "佳怡", "雨萱", "振华"}
var roadParts = []string{"人民", "解放", "中山", "建设", "新华", "文化", "胜利", "环城北", "迎宾", "江滨", "学院", "体育场", "凤起", "延安", "世纪",
	"和平", "光明", "朝阳", "东方", "开元", "振兴", "兴业", "湖滨", "望江", "金山", "青年", "商城", "工业", "五星", "丰收"}
var roadKinds = []string{"路", "路", "路", "街", "大道", "巷"}
var estates = []string{"花园", "小区", "新村", "家园", "公寓", "苑", "府", "雅苑", "华庭", "嘉园"}
var estateParts = []string{"阳光", "金都", "绿城", "锦绣", "东方", "翠苑", "和睦", "康乐", "紫金", "望湖", "春江", "碧水", "幸福", "丹桂", "香樟"}
var wenxinRoads = []string{"文一西路", "文二西路", "文三西路", "丰潭路", "古墩路", "紫荆花路", "益乐路", "学院路", "竞舟路", "申花路"}
var wenxinEstates = []string{"德加社区", "骆家庄", "南都德加", "文新小区", "三墩路口", "金色钱塘", "嘉绿苑", "益乐新村", "阳光公寓", "竞舟小区"}

// cityWeights are rough populations (millions) of the cities, by code.
var cityWeights = map[string]int{"3301": 125, "3302": 96, "3303": 97, "3304": 56, "3305": 34, "3306": 53, "3307": 71, "3308": 23,
	"3309": 12, "3310": 67, "3311": 25}

// WenxinCode is 西湖区文新街道, where the demo officers work.
const WenxinCode = "330106013"

// place is a township with its county and city names.
type place struct {
	Township, County, City string // codes
	TName, CName, YName    string // names: township, county, city
}

// geo holds the townships of Zhejiang, to draw them by population.
type geo struct {
	places  []place
	byCity  map[string][]int // city code → indexes into places
	cities  []string
	cumCity []int
	wenxin  place
}

func newGeo(t *territory.Territory) (*geo, error) {
	g := &geo{byCity: map[string][]int{}}
	for _, city := range t.Cities() {
		for _, cty := range t.Counties(city.Code) {
			for _, tw := range t.Townships(cty.Code) {
				if territory.Placeholder(tw.Name) {
					continue
				}
				p := place{Township: tw.Code, County: cty.Code, City: city.Code, TName: tw.Name, CName: cty.Name, YName: city.Name}
				g.byCity[city.Code] = append(g.byCity[city.Code], len(g.places))
				g.places = append(g.places, p)
				if tw.Code == WenxinCode {
					g.wenxin = p
				}
			}
		}
	}
	if len(g.places) == 0 || g.wenxin.Township == "" {
		return nil, fmt.Errorf("territory: no townships (or no 文新街道)")
	}
	total := 0
	for code := range g.byCity {
		g.cities = append(g.cities, code)
	}
	slices.Sort(g.cities)
	for _, c := range g.cities {
		w := cityWeights[c]
		if w == 0 {
			w = 20
		}
		total += w
		g.cumCity = append(g.cumCity, total)
	}
	return g, nil
}

// pick draws a township: a city by population, then one of its townships.
func (g *geo) pick(r *rand.Rand) place {
	n := r.IntN(g.cumCity[len(g.cumCity)-1])
	i := 0
	for g.cumCity[i] <= n {
		i++
	}
	idx := g.byCity[g.cities[i]]
	return g.places[idx[r.IntN(len(idx))]]
}

// request is one generated citizen request.
type request struct {
	Cat      string // the topic's category (what the text is about)
	Kind     string
	Content  string
	Address  string
	Name     string
	Phone    string
	Place    place
	Lat, Lon float64
	HasGeo   bool
}

// gen makes requests; one per goroutine (it holds its random source).
type gen struct {
	r      *rand.Rand
	g      *geo
	cum    []int
	wenxin float64 // share of requests placed in 文新街道
}

func newGen(g *geo, seed uint64, wenxin float64) *gen {
	ge := &gen{r: rand.New(rand.NewPCG(seed, seed*0x9e3779b97f4a7c15+1)), g: g, wenxin: wenxin}
	total := 0
	for _, t := range topics {
		total += t.weight
		ge.cum = append(ge.cum, total)
	}
	return ge
}

func (ge *gen) topic() *topic {
	n := ge.r.IntN(ge.cum[len(ge.cum)-1])
	i := 0
	for ge.cum[i] <= n {
		i++
	}
	return &topics[i]
}

// expand fills [a|b] choices and the place.
func (ge *gen) expand(s, place string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '[')
		if i < 0 {
			b.WriteString(s)
			break
		}
		j := strings.IndexByte(s[i:], ']')
		if j < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		alts := strings.Split(s[i+1:i+j], "|")
		b.WriteString(alts[ge.r.IntN(len(alts))])
		s = s[i+j+1:]
	}
	return strings.ReplaceAll(b.String(), "{P}", place)
}

func (ge *gen) pick(ss []string) string { return ss[ge.r.IntN(len(ss))] }

func (ge *gen) name() string {
	return string(surnames[ge.r.IntN(len(surnames))]) + ge.pick(givenNames)
}

// phone returns a mainland mobile number.
func (ge *gen) phone() string {
	prefixes := []string{"130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155", "157", "158", "159",
		"166", "173", "177", "180", "181", "182", "183", "185", "186", "187", "188", "189", "191", "199"}
	return fmt.Sprintf("%s%08d", ge.pick(prefixes), ge.r.IntN(100_000_000))
}

// address is a street address in the place, written as people write it.
func (ge *gen) address(p place) (short, full string) {
	var where string
	if p.Township == WenxinCode {
		if ge.r.IntN(2) == 0 {
			where = ge.pick(wenxinRoads) + fmt.Sprint(ge.r.IntN(900)+1) + "号"
		} else {
			where = ge.pick(wenxinEstates) + fmt.Sprint(ge.r.IntN(30)+1) + "幢"
		}
	} else if ge.r.IntN(2) == 0 {
		where = ge.pick(roadParts) + ge.pick(roadKinds) + fmt.Sprint(ge.r.IntN(600)+1) + "号"
	} else {
		where = ge.pick(estateParts) + ge.pick(estates) + fmt.Sprint(ge.r.IntN(30)+1) + "幢"
	}
	switch ge.r.IntN(4) {
	case 0:
		full = p.YName + p.CName + p.TName + where
	case 1:
		full = p.CName + p.TName + where
	default:
		full = p.YName + p.CName + p.TName + where
	}
	return p.TName + where, full
}

// request makes one citizen request.
func (ge *gen) request() request { return ge.requestOf(ge.topic()) }

// requestOf makes a request about topic t.
func (ge *gen) requestOf(t *topic) request {
	p := ge.g.pick(ge.r)
	if ge.wenxin > 0 && ge.r.Float64() < ge.wenxin {
		p = ge.g.wenxin
	}
	short, full := ge.address(p)
	// The place is named in the text most of the time, the address field
	// too when the app fills it from the map.
	inText := short
	if ge.r.IntN(3) == 0 {
		inText = p.CName + short
	}
	text := ge.pick(openers) + ge.expand(ge.pick(t.issues), inText) + "。" + ge.expand(ge.pick(t.asks), inText)
	req := request{Cat: t.cat, Kind: t.kind, Content: text, Name: ge.name(), Phone: ge.phone(), Place: p}
	if ge.r.IntN(3) > 0 {
		req.Address = full
	}
	if ge.r.IntN(10) < 3 {
		req.HasGeo = true
		req.Lat = 27.2 + ge.r.Float64()*3.6
		req.Lon = 118.1 + ge.r.Float64()*4.3
	}
	return req
}
