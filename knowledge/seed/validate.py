#!/usr/bin/env python3
"""Validate the Yici seed knowledge-base articles (articles-*.jsonl) and synonyms.txt.

Usage: python3 knowledge/seed/validate.py [--taxonomy PATH]
Exit code 0 when every check passes.
"""
import collections, csv, datetime, glob, json, os, re, sys

HERE = os.path.dirname(os.path.abspath(__file__))
KEYS = ["id", "type", "title", "question", "answer", "guide", "categories", "region",
        "visibility", "tags", "effective_from", "expires_on"]
GUIDE_KEYS = {"主项名称", "子项名称", "适用依据", "申请材料", "办事流程", "业务经办流程", "办理时限", "表单内容"}


def find_taxonomy(argv):
    if "--taxonomy" in argv:
        return argv[argv.index("--taxonomy") + 1]
    for cand in [os.path.join(HERE, "..", "..", "..", "shared", "data", "taxonomy.csv"),
                 "/work/shared/data/taxonomy.csv"]:
        if os.path.exists(cand):
            return cand
    return None


def date_ok(s):
    try:
        datetime.date.fromisoformat(s)
        return re.fullmatch(r"\d{4}-\d{2}-\d{2}", s) is not None
    except (TypeError, ValueError):
        return False


def main(argv):
    errs = []
    tax_path = find_taxonomy(argv)
    codes = None
    if tax_path:
        with open(tax_path, encoding="utf-8") as fh:
            codes = {row["code"] for row in csv.DictReader(fh)}
    else:
        print("WARN: taxonomy.csv not found, category codes only checked for format")
    ids = set()
    stats = collections.defaultdict(collections.Counter)
    total = 0
    files = sorted(glob.glob(os.path.join(HERE, "articles-*.jsonl")))
    for path in files:
        name = os.path.basename(path)
        raw = open(path, "rb").read()
        if len(raw) > 300 * 1024:
            errs.append(f"{name}: file larger than 300 KB")
        if raw.startswith(b"\xef\xbb\xbf"):
            errs.append(f"{name}: has BOM")
        for ln, line in enumerate(raw.decode("utf-8").splitlines(), 1):
            where = f"{name}:{ln}"
            if not line.strip():
                errs.append(f"{where}: blank line"); continue
            try:
                a = json.loads(line)
            except json.JSONDecodeError as e:
                errs.append(f"{where}: bad JSON {e}"); continue
            total += 1
            if list(a.keys()) != KEYS and set(a.keys()) != set(KEYS):
                errs.append(f"{where}: keys {sorted(a.keys())}"); continue
            aid = a["id"]
            if not isinstance(aid, str) or not re.fullmatch(r"seed-[a-z0-9]+-\d{3}", aid):
                errs.append(f"{where}: bad id {aid!r}")
            if aid in ids:
                errs.append(f"{where}: duplicate id {aid}")
            ids.add(aid)
            if not isinstance(a["title"], str) or not a["title"].strip():
                errs.append(f"{where}: empty title")
            t = a["type"]
            if t == "qa":
                if not isinstance(a["question"], str) or not a["question"].strip():
                    errs.append(f"{where}: qa without question")
                if not isinstance(a["answer"], str) or not (80 <= len(a["answer"]) <= 400):
                    errs.append(f"{where}: answer length {len(a['answer']) if isinstance(a['answer'], str) else a['answer']!r}")
                if a["guide"] is not None:
                    errs.append(f"{where}: qa with guide")
            elif t == "guide":
                if a["question"] is not None or a["answer"] is not None:
                    errs.append(f"{where}: guide with question/answer")
                g = a["guide"]
                if not isinstance(g, dict) or set(g.keys()) != GUIDE_KEYS or len(g) != 8:
                    errs.append(f"{where}: guide fields {list(g.keys()) if isinstance(g, dict) else g!r}")
                elif any(not isinstance(v, str) or not v.strip() for v in g.values()):
                    errs.append(f"{where}: empty guide field")
            else:
                errs.append(f"{where}: bad type {t!r}")
            cats = a["categories"]
            if not isinstance(cats, list) or not cats:
                errs.append(f"{where}: categories empty")
            else:
                for c in cats:
                    if not isinstance(c, str) or not re.fullmatch(r"\d{4}", c) or (codes is not None and c not in codes):
                        errs.append(f"{where}: unknown category {c!r}")
                if len(set(cats)) != len(cats):
                    errs.append(f"{where}: duplicate categories")
            r = a["region"]
            if not (r == "33" or (isinstance(r, str) and re.fullmatch(r"33\d{4}", r))):
                errs.append(f"{where}: bad region {r!r}")
            if a["visibility"] not in ("public", "internal"):
                errs.append(f"{where}: bad visibility")
            tags = a["tags"]
            if not isinstance(tags, list) or not (3 <= len(tags) <= 8) or any(not isinstance(x, str) or not x.strip() for x in tags):
                errs.append(f"{where}: tags {tags!r}")
            ef, ex = a["effective_from"], a["expires_on"]
            if not date_ok(ef):
                errs.append(f"{where}: bad effective_from {ef!r}")
            if ex is not None:
                if not date_ok(ex):
                    errs.append(f"{where}: bad expires_on {ex!r}")
                elif date_ok(ef) and ex < ef:
                    errs.append(f"{where}: expires_on before effective_from")
            today = datetime.date.today().isoformat()
            stats["file"][name] += 1
            stats["type"][t] += 1
            stats["visibility"][a["visibility"]] += 1
            stats["region"][r] += 1
            if ex is not None and ex < today:
                stats["status"]["expired"] += 1
            elif ef > today:
                stats["status"]["future"] += 1
            else:
                stats["status"]["current"] += 1
            for c in cats if isinstance(cats, list) else []:
                stats["category"][c] += 1
    if total < 240:
        errs.append(f"only {total} articles (< 240)")
    syn = os.path.join(HERE, "synonyms.txt")
    groups = 0
    if os.path.exists(syn):
        seen = {}
        for ln, line in enumerate(open(syn, encoding="utf-8").read().splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            terms = [x.strip() for x in line.split(",")]
            if len(terms) < 2 or any(not x for x in terms):
                errs.append(f"synonyms.txt:{ln}: group needs >=2 non-empty terms")
            for term in terms:
                if term in seen:
                    errs.append(f"synonyms.txt:{ln}: term {term!r} already in group on line {seen[term]}")
                seen[term] = ln
            groups += 1
        if groups < 80:
            errs.append(f"synonyms.txt: only {groups} groups (< 80)")
    else:
        errs.append("synonyms.txt missing")
    print(f"articles: {total}  files: {len(files)}  synonym groups: {groups}")
    for k in ["type", "visibility", "status", "file", "region", "category"]:
        print(f"-- {k}: " + ", ".join(f"{n}={c}" for n, c in sorted(stats[k].items())))
    if errs:
        print(f"FAIL: {len(errs)} problem(s)")
        for e in errs[:200]:
            print("  " + e)
        return 1
    print("OK: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
