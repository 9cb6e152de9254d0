"""The structures of real plans beyond the seeds (label-schema.md, "What a clause is").

Each snippet is cut from a real plan of the development corpus (its lines as PDF extraction gives
them), so that every numbering, note and article form is pinned by a test.
"""

from __future__ import annotations

from reviewapp.importing.cleaning import clean_paragraphs
from reviewapp.importing.formats import Limits
from reviewapp.importing.parsing import parse_plan
from reviewapp.importing.segmentation import KIND_PRINCIPLE, ParsedClause, segment


def _clauses(text: str) -> list[ParsedClause]:
    return segment(clean_paragraphs(text.strip().splitlines()))[1]


def _starting(clauses: list[ParsedClause], head: str) -> ParsedClause:
    return next(c for c in clauses if c.text.startswith(head))


ARTICLES = """
第一章 总则
第一条 【目的】为贯彻落实绿色发展理念，推进区域循环经济发展，制定本办法。
第二章 扶持措施
第三条 【绿色低碳发展扶持】大力发展绿色低碳经济，对符合条件的项目按以下规定给予实施单位扶持：
（一）支持循环经济和资源综合利用。
1.对符合条件的循环经济和资源综合利用项目，按照项目实际投资总额的20%给予项目投资方补助，单个项目补助最高200万元。
2.项目投资方根据区发展改革部门的申报通知申报，项目验收通过后拨付补助资金。（责任单位：区发展改革局）
第九条对区域循环经济发展、节能降碳作出突出贡献的企业给予表彰。（责任单位：区发展改革局、区工业和信息化局）
"""


def test_articles_are_clauses_headed_by_their_number_and_title_under_their_chapter() -> None:
    clauses = _clauses(ARTICLES)
    first = _starting(clauses, "第一条")
    assert first.heading_path == ["第一章 总则", "第一条 【目的】"]
    last = _starting(clauses, "第九条")
    assert last.heading_path == ["第二章 扶持措施", "第九条"]
    assert last.lead_agencies == ["区发展改革局"]


def test_a_chapter_title_is_never_glued_to_the_article_after_it() -> None:
    assert not any("总则" in c.text for c in _clauses(ARTICLES))


def test_list_items_without_a_note_gather_into_the_clause_of_the_note_after_them() -> None:
    clauses = _clauses(ARTICLES)
    items = _starting(clauses, "（一）支持循环经济")
    assert items.text.endswith("（责任单位：区发展改革局）")
    assert "2.项目投资方" in items.text
    assert items.heading_path[-1] == "（一）支持循环经济和资源综合利用"


def test_a_paragraph_that_introduces_a_list_is_a_clause_of_its_own() -> None:
    clauses = _clauses(ARTICLES)
    intro = _starting(clauses, "第三条")
    assert intro.text.endswith("给予实施单位扶持：")


def test_a_long_list_item_heads_no_later_clause() -> None:
    text = """
一、主要任务
（一）对纳入国家绿色制造示范名单的绿色工厂、绿色园区、绿色供应链管理企业，给予一次性补贴100万元。（责任单位：区工业和信息化局）
对获评国家级“能效领跑者”的企业，给予一次性补贴30万元。（责任单位：区发展改革局）
"""
    second = _starting(_clauses(text), "对获评")
    assert second.heading_path == ["一、主要任务"]


INNER_NOTES = """
一、加强碳达峰工作顶层设计
（一）推动制订全省碳达峰行动方案。组织编制江苏省“十四五”应对气候变化专项规划。（责任部门：气候处，完成期限：6 月底）配合省发展改革委制定《江苏省2030年前二氧化碳排放达峰方案》。（责任部门：气候处，完成期限：7 月底）
（二）开展碳排放与环评管理的统筹融合试点。推动碳达峰、碳中和要求与环境影响评价的有机衔接。
（责任部门：环评处、省评估中心，完成期限：8 月底）制订《江苏省沿海地区建设项目环境准入负面清单》。（责任部门：环评处，完成期限：6 月底）
"""


def test_a_note_inside_a_paragraph_closes_a_clause_and_the_rest_starts_the_next() -> None:
    clauses = _clauses(INNER_NOTES)
    first = _starting(clauses, "（一）推动制订")
    assert first.text.endswith("完成期限：6 月底）") or first.text.endswith("完成期限：6月底）")
    second = _starting(clauses, "配合省发展改革委")
    assert second.lead_agencies == ["气候处"]
    assert second.heading_path[-1] == "（一）推动制订全省碳达峰行动方案"


def test_a_note_that_opens_a_paragraph_closes_the_paragraph_before_it() -> None:
    clauses = _clauses(INNER_NOTES)
    closed = _starting(clauses, "（二）开展碳排放")
    assert "8" in closed.text.rsplit("（", 1)[-1]
    assert closed.responsible_agencies == ["环评处", "省评估中心"]
    assert _starting(clauses, "制订《江苏省沿海").lead_agencies == ["环评处"]


NOTE_LINES = """
二、主要任务
（一）制定碳达峰总体行动方案和分行业分领域专项行动方案
1．研究制定《达州市2030年前碳达峰行动方案》，提出碳达峰的总体要求、主要目标、重点行动计划。
责任单位：市发展改革委
完成时限：2022 年 2 月底前
2．制定能源领域碳达峰专项行动方案。
责任单位：市发展改革委、市应急局、市水务局、国家电网达州供电公司
（排在第一为牵头单位，下同）
完成时限：2022 年 2 月底前
"""


def test_a_note_on_lines_of_its_own_closes_the_task_with_its_time_limit() -> None:
    clauses = _clauses(NOTE_LINES)
    first = _starting(clauses, "1．研究制定")
    assert first.text.endswith("完成时限：2022年2月底前")
    assert first.heading_path[-1] == "（一）制定碳达峰总体行动方案和分行业分领域专项行动方案"
    assert first.lead_agencies == ["市发展改革委"]
    second = _starting(clauses, "2．制定能源")
    assert second.lead_agencies == ["市发展改革委"]
    assert second.responsible_agencies[-1] == "国家电网达州供电公司"
    assert len(clauses) == 2


NEWS_SUMMARY = """
浙江出台金融支持碳达峰碳中和指导意见
近日，人民银行杭州中心支行联合浙江银保监局、省发展改革委发布《关于金融支持碳达峰碳中和的指导意见》，在全国率先出台金融支持碳达峰碳中和十个方面25项举措。
《指导意见》提出，力争2021年全省绿色贷款新增4000亿元以上，绿色债务融资工具和绿色金融债发行规模同比增长50%以上。
"""


def test_a_text_without_headings_becomes_paragraph_clauses_instead_of_a_rejection() -> None:
    plan = parse_plan("news.txt", NEWS_SUMMARY.encode(), Limits())
    assert [c.text[:6] for c in plan.clauses] == ["近日，人民银", "《指导意见》"]
    assert plan.clauses[1].kind_hint != KIND_PRINCIPLE


ATTACHED_PLAN = """
现将《宁夏碳达峰碳中和科技支撑行动方案》印发，请结合实际贯彻落实。
附件
宁夏碳达峰碳中和科技支撑行动方案
一、重点任务
（一）加强基础研究。开展碳中和前沿技术研究。（自治区科技厅、发展改革委等按职责分工负责）
1.开展关键技术攻关。攻克一批关键技术。（自治区科技厅负责）
"""


def test_a_notice_whose_attachment_is_the_plan_reads_the_plan_as_a_plan() -> None:
    clauses = _clauses(ATTACHED_PLAN)
    task = _starting(clauses, "1.开展关键技术攻关")
    assert task.heading_path == ["一、重点任务", "（一）加强基础研究", "1.开展关键技术攻关"]
    assert task.lead_agencies == ["自治区科技厅"]


def test_a_plan_title_of_any_document_kind_is_not_glued_to_its_first_paragraph() -> None:
    text = """
辽宁省自然资源和林业草原管理部门碳达峰碳中和行动清单
为深入贯彻习近平生态文明思想，现制定自然资源和林业草原管理部门行动清单。
一、强化规划引领
1.全面落实绿色低碳理念。将碳达峰、碳中和相关内容纳入国土空间规划编制审查要点。
"""
    assert _clauses(text)[0].text.startswith("为深入贯彻")


def test_every_numbering_width_and_style_is_a_heading() -> None:
    text = """
一．总体要求
（二）主要目标
１.推动产业结构优化升级。加快发展战略性新兴产业。
2、推进节能降碳。实施节能改造。
（3）加强统计监测。建立碳排放统计体系。
①完善标准。制定地方标准。
"""
    clauses = _clauses(text)
    assert clauses[-1].heading_path == [
        "一．总体要求",
        "（二）主要目标",
        "2、推进节能降碳",
        "（3）加强统计监测",
        "①完善标准",
    ]
    assert len(clauses) == 4


def test_a_stated_lead_convention_holds_for_the_notes_after_it() -> None:
    text = """
各项任务责任单位中，两省市列首位的为牵头单位。
一、重点任务
1.共建绿色低碳产业体系。推动产业协同发展。（上海市经济信息化委、上海市发展改革委；江苏省工业和信息化厅、江苏省发展改革委）
"""
    task = _starting(_clauses(text), "1.共建")
    assert task.lead_agencies == ["上海市经济信息化委", "江苏省工业和信息化厅"]
    assert len(task.responsible_agencies) == 4


def test_an_article_with_items_and_no_note_is_one_clause_headed_by_the_article() -> None:
    text = """
第二章 职责
第三条 市政府应当：
（一）建立碳达峰工作协调机制；
（二）加强目标责任考核。
第四条 【扶持】按以下规定给予扶持：
（一）对绿色工厂给予一次性补贴100万元。（责任单位：区工业和信息化局）
（二）对能效领跑者给予一次性补贴30万元。（责任单位：区发展改革局）
"""
    clauses = _clauses(text)
    article = _starting(clauses, "第三条")
    assert article.text.endswith("（二）加强目标责任考核。")
    assert article.heading_path == ["第二章 职责", "第三条"]
    # Items that end with their own notes are clauses; the introduction stands before them.
    intro = _starting(clauses, "第四条")
    assert intro.text.endswith("给予扶持：")
    assert intro.heading_path == ["第二章 职责", "第四条 【扶持】"]
    assert _starting(clauses, "（一）对绿色工厂").lead_agencies == ["区工业和信息化局"]


def test_note_lines_one_after_another_all_give_agencies() -> None:
    from reviewapp.labeling.preview import clause_input_of
    from reviewapp.labeling.rules import rules_label

    text = """
一、重点任务
（一）推进公共机构节能。
责任单位：市、区机管局
配合单位：市财政局
"""
    clause = _clauses(text)[0]
    labels, _ = rules_label(clause_input_of(clause))
    assert labels.responsible_agencies == ["市机管局", "区机管局", "市财政局"]
    assert labels.lead_agencies == ["市机管局"]


def test_the_note_lines_that_end_a_document_are_not_dropped_as_a_web_footer() -> None:
    text = """
一、重点任务
（一）推进A工作。
完成时限：2022年12月底前
责任单位：市发改委
"""
    clause = _clauses(text)[0]
    assert clause.text.endswith("责任单位：市发改委")
    assert clause.lead_agencies == ["市发改委"]
