// Package demo loads the Zhejiang demo data: the units of the territory,
// staff accounts for every role, and a few cases at different steps of the
// loop, so that a fresh `make run` has something to show.
package demo

import (
	"context"
	"errors"
	"fmt"

	"yici/cases"
	"yici/internal/auth"
	"yici/router"
)

// Password of every demo account. Demo data is for trying Yici out only
// (YICI_DEMO=false leaves it out).
const Password = "yici2026"

// Login is a demo account.
type Login struct {
	Username, Name string
	Role           auth.Role
	UnitID         string
	What           string
}

// Logins are the demo accounts, one or more per role.
var Logins = []Login{
	{"agent", "王晓燕", auth.Agent, "3301-HC", "杭州12345话务员：受理来电、直接答复、派单"},
	{"dispatcher", "李建国", auth.Dispatcher, "3301-HC", "派单员：待派单、退单审核、延期审批"},
	{"supervisor", "周敏", auth.Supervisor, "3301-HC", "督办员：超期督办、三率统计"},
	{"wenxin-zf", "赵磊", auth.Officer, "330106013-ZF", "西湖区文新街道综合执法平台"},
	{"wenxin-zz", "孙丽", auth.Officer, "330106013-ZZ", "西湖区文新街道综治工作平台"},
	{"beishan-zf", "钱峰", auth.Officer, "330106002-ZF", "西湖区北山街道综合执法平台"},
	{"xihu-zjj", "吴刚", auth.Officer, "330106-ZJJ", "西湖区住房和城乡建设局"},
	{"xihu-shzl", "郑洁", auth.Officer, "330106-SHZL", "西湖区社会治理中心（兜底派单）"},
	{"hz-water", "冯涛", auth.Officer, "3301-WATER", "杭州市供水企业"},
	{"grid", "陈海", auth.Grid, "", "文新街道网格员：巡查上报"},
	{"admin", "系统管理员", auth.Admin, "", "管理员：单位、规则、密钥"},
}

// Users creates the demo accounts (existing ones are left alone).
func Users(ctx context.Context, as *auth.Store) error {
	for _, l := range Logins {
		_, err := as.CreateUser(ctx, auth.NewUser{Username: l.Username, DisplayName: l.Name, Password: Password, Role: l.Role, UnitID: l.UnitID})
		if err != nil && !errors.Is(err, auth.ErrUserExists) {
			return fmt.Errorf("demo user %s: %w", l.Username, err)
		}
	}
	return nil
}

func actorOf(ctx context.Context, as *auth.Store, username string) (auth.Actor, error) {
	u, _, err := as.UserByName(ctx, username)
	return u.Actor(), err
}

// Cases registers a few cases and walks them to different steps; they are
// dispatched by the router, so their decisions are stored and explained.
func Cases(ctx context.Context, cs *cases.Store, as *auth.Store, rt *router.Service) error {
	agent, err := actorOf(ctx, as, "agent")
	if err != nil {
		return err
	}
	disp, _ := actorOf(ctx, as, "dispatcher")
	zf, _ := actorOf(ctx, as, "wenxin-zf")
	water, _ := actorOf(ctx, as, "hz-water")
	phone := func(ref string) (cases.Channel, string) { return cases.ChannelPhone, ref }

	dispatch := func(c *cases.Case) error {
		_, _, err := rt.Dispatch(ctx, disp, c.ID, cases.DispatchPlan{}, nil)
		return err
	}
	type walk func(c *cases.Case) error
	items := []struct {
		n    cases.NewCase
		walk walk
	}{
		{cases.NewCase{Kind: cases.Complaint, Category: "0104", Content: "文新街道丰潭路一家烧烤店油烟直排，晚上整栋楼都是油烟味，窗户都不敢开。",
			Address: "西湖区文新街道丰潭路", TownshipCode: "330106013", CitizenName: "陈女士", CitizenPhone: "13857101234", Channel: cases.ChannelWeb, ChannelRef: "demo-web-1"}, nil},
		{cases.NewCase{Kind: cases.Complaint, Category: "0102", Content: "文二西路菜场门口流动摊贩占道经营，早上堵得电动车都过不去。",
			Address: "西湖区文新街道文二西路", TownshipCode: "330106013", CitizenName: "刘先生", CitizenPhone: "13905712345"},
			dispatch},
		{cases.NewCase{Kind: cases.Help, Category: "1101", Content: "翠苑一区从早上开始停水，没有任何通知，家里有老人。",
			Address: "西湖区翠苑街道翠苑一区", TownshipCode: "330106005", CitizenName: "张阿姨", CitizenPhone: "0571-88001234"},
			func(c *cases.Case) error {
				if err := dispatch(c); err != nil {
					return err
				}
				_, err := cs.Sign(ctx, water, c.ID, "")
				return err
			}},
		{cases.NewCase{Kind: cases.Complaint, Category: "0501", Content: "文新街道一处工地晚上十一点还在施工打桩，噪音太大影响休息。",
			Address: "西湖区文新街道", TownshipCode: "330106013", CitizenName: "王先生", CitizenPhone: "13600001111"},
			func(c *cases.Case) error {
				if err := dispatch(c); err != nil {
					return err
				}
				if _, err := cs.Sign(ctx, zf, c.ID, ""); err != nil {
					return err
				}
				if _, err := cs.Reply(ctx, zf, c.ID, "经现场核查，该工地夜间施工未办理许可，已责令停止夜间作业并立案调查。", "已拍照取证"); err != nil {
					return err
				}
				_, err := cs.ApproveReview(ctx, agent, c.ID, "")
				return err
			}},
		{cases.NewCase{Kind: cases.Consultation, Category: "0402", Content: "想问一下灵活就业人员社保怎么在浙里办上缴纳？",
			CitizenName: "李女士", CitizenPhone: "13757100000"},
			func(c *cases.Case) error {
				_, err := cs.Answer(ctx, agent, c.ID, "可在“浙里办”搜索“灵活就业人员参保登记”，登记后按月或按年缴费。", nil)
				return err
			}},
	}
	for i, it := range items {
		if it.n.Channel == "" {
			it.n.Channel, it.n.ChannelRef = phone(fmt.Sprintf("demo-call-%d", i))
		}
		c, created, err := cs.Create(ctx, agent, it.n)
		if err != nil {
			return fmt.Errorf("demo case %d: %w", i, err)
		}
		if created && it.walk != nil {
			if err := it.walk(c); err != nil {
				return fmt.Errorf("demo case %d: %w", i, err)
			}
		}
	}
	return nil
}
