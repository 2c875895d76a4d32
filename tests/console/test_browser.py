"""The console in a real browser (Debian's Chromium driven by Playwright), against the real
service started as `scheduler demo --serve`: staff approve a pending booking, import a make-up
working day and switch language; a partner previews and saves a window, closes three grounds
in one form and checks a resident in from the gate list; /schema renders with no network.
A screenshot of each page is saved under the test's temporary directory."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.support.server import running_server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="no Chromium found: `apt-get install -y chromium` to run the browser tests",
    ),
]
PARTNER = "shangnan-middle"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _api(base: str, token: str, method: str, path: str, body: Any = None) -> Any:
    response = httpx.request(
        method, base + path, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert response.status_code in (200, 201), (path, response.status_code, response.text)
    return response.json()


def _resource_with_booking(
    base: str, tokens: dict[str, str], name: str, **policy: Any
) -> tuple[str, str]:
    """A resource of the demo partner open all day, and a resident's booking of the next
    quarter hour on it."""
    resource = _api(
        base,
        tokens["staff"],
        "POST",
        "/api/v1/resources",
        {
            "partner_id": PARTNER,
            "name": name,
            "kind": "room",
            "capacity": 10,
            "policy": {"granularity_minutes": 15, "min_duration_minutes": 15, **policy},
        },
    )
    _api(
        base,
        tokens["staff"],
        "POST",
        f"/api/v1/resources/{resource['id']}/windows",
        {"start_time": "00:00", "end_time": "24:00", "audience": "public", "rrule": "FREQ=DAILY"},
    )
    now = datetime.now(UTC)
    start = now.replace(second=0, microsecond=0) + timedelta(minutes=15 - now.minute % 15)
    booking = _api(
        base,
        tokens["resident"],
        "POST",
        "/api/v1/bookings",
        {
            "resource_id": resource["id"],
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(minutes=15)).isoformat(),
        },
    )
    return resource["id"], booking["id"]


def test_console_in_chromium(tmp_path: Path) -> None:
    shots = tmp_path / "screenshots"
    shots.mkdir()
    env = {"SCHEDULER_DATA_DIR": str(tmp_path), "SCHEDULER_DATABASE_URL": ""}
    env |= {"SCHEDULER_JWT_SECRET": "", "SCHEDULER_DEMO": ""}
    with running_server(["demo", "--serve"], env, tmp_path / "server.log") as (base, _):
        output = (tmp_path / "server.log").read_text()
        assert f"{base}/console/" in output
        tokens = dict(re.findall(r"^  (\w+)\s+\S+\s+(\S+)$", output, flags=re.MULTILINE))
        _, pending_id = _resource_with_booking(
            base, tokens, "会议室 Approval room", approval="staff"
        )
        gate_resource, gate_booking = _resource_with_booking(
            base, tokens, "门岗测试 Gate room", check_in_opens_minutes=60
        )
        with playwright_api.sync_playwright() as driver:
            browser = driver.chromium.launch(
                executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
            )
            try:
                _drive(
                    browser.new_page(viewport={"width": 1280, "height": 900}),
                    base,
                    shots,
                    pending_id,
                    gate_resource,
                    gate_booking,
                )
                _worker_on_a_phone(browser, base, shots, tokens, gate_resource)
                _week_and_reports(browser, base, shots, gate_resource)
                _setting_up(browser, base, shots, tokens, gate_booking)
                _offline_docs(browser, base, shots)
            finally:
                browser.close()
    assert len(list(shots.glob("*.png"))) >= 27


def _sign_in(page: Any, base: str, sub: str, shots: Path | None = None) -> None:
    page.goto(f"{base}/console/sign-in")
    if shots:
        page.screenshot(path=str(shots / "01-sign-in.png"), full_page=True)
    page.click(f"[data-testid=demo-{sub}]")
    page.wait_for_url(f"{base}/console/")


def _drive(
    page: Any, base: str, shots: Path, pending_id: str, gate_resource: str, gate_booking: str
) -> None:
    expect = playwright_api.expect
    _sign_in(page, base, "staff-li", shots)
    expect(page.locator("h1")).to_contain_text("今日概况")
    page.screenshot(path=str(shots / "02-today.png"), full_page=True)

    page.goto(f"{base}/console/approvals")
    page.check(f"input[name=ids][value={pending_id}]")
    page.click("button[value=approve]")
    expect(page.locator(".results")).to_contain_text(f"{pending_id}: 已确认")
    page.screenshot(path=str(shots / "03-approvals.png"), full_page=True)

    page.goto(f"{base}/console/calendar")
    page.fill("textarea[name=lines]", "2027-02-07 班 春节调休")
    page.click("form[action='/console/calendar/import'] button[type=submit]")
    expect(page.locator("[data-testid=imported]")).to_have_text("1")
    expect(page.locator("tr[data-day='2027-02-07']")).to_contain_text("工作日")
    page.screenshot(path=str(shots / "04-calendar.png"), full_page=True)

    page.click("button[name=lang][value=en]")
    expect(page.locator("h1")).to_contain_text("Official calendar")
    page.screenshot(path=str(shots / "05-calendar-english.png"), full_page=True)
    page.click("button[name=lang][value=zh_Hans]")
    expect(page.locator("h1")).to_contain_text("法定工作日历")
    page.click("text=退出登录")
    page.wait_for_url(f"{base}/console/sign-in")

    _sign_in(page, base, "partner-shangnan")
    page.goto(f"{base}/console/resources/{gate_resource}/windows")
    page.check("input[name=day_types][value=workday]")
    page.fill("input[name=start_time]", "18:00")
    page.fill("input[name=end_time]", "21:00")
    page.fill("input[name=label]", "工作日晚间")
    page.click("button[value=preview]")
    count = int(page.locator("[data-testid=preview-count]").inner_text())
    assert 5 <= count <= 14 * 12, count  # 15-minute slots on the working days of 14 days
    page.screenshot(path=str(shots / "06-window-preview.png"), full_page=True)
    page.click("button[value=save]")
    expect(page.locator("p.ok")).to_contain_text("开放时段已保存")
    expect(page.locator("tbody")).to_contain_text("工作日晚间")

    page.goto(f"{base}/console/closures")
    for resource_id in (f"{PARTNER}-1", f"{PARTNER}-2", f"{PARTNER}-3"):
        page.check(f"input[name=ids][value={resource_id}]")
    page.fill("input[name=starts_at]", "2027-06-14T00:00")
    page.fill("input[name=ends_at]", "2027-06-19T00:00")
    page.fill("input[name=reason]", "考试周")
    page.click("text=关闭所选场地")
    expect(page.locator("[data-testid=closed-count]")).to_have_text("3")
    page.screenshot(path=str(shots / "07-closures.png"), full_page=True)

    page.goto(f"{base}/console/gate")
    row = page.locator(f"tr[data-booking={gate_booking}]")
    expect(row).to_contain_text("已确认")
    page.screenshot(path=str(shots / "08-gate.png"), full_page=True)
    row.locator("button", has_text="签到").click()
    expect(page.locator(f"tr[data-booking={gate_booking}]")).to_contain_text("已签到")
    page.screenshot(path=str(shots / "09-gate-checked-in.png"), full_page=True)


PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "locale": "zh-CN",
}


def _worker_on_a_phone(
    browser: Any, base: str, shots: Path, tokens: dict[str, str], resource_id: str
) -> None:
    """A neighbourhood worker on a phone: find a resident by the end of her phone number,
    book for her tomorrow, then record her walk-in for the hour in progress."""
    expect = playwright_api.expect
    resident = _api(
        base,
        tokens["staff"],
        "POST",
        "/api/v1/residents",
        {"name": "刘奶奶 Liu", "community": "shangnan-1", "phone": "139 1234 5678"},
    )
    _api(
        base,
        tokens["staff"],
        "POST",
        "/api/v1/suspensions",
        {
            "resident_id": resident["id"],
            "scope": "partner",
            "scope_id": "sanlin-sports",
            "until": (datetime.now(UTC) + timedelta(days=14)).isoformat(),
            "reason": "3 次爽约 three no-shows",
        },
    )
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.goto(f"{base}/console/sign-in")
    page.click("[data-testid=demo-worker-zhao]")
    page.wait_for_url(f"{base}/console/residents")
    page.fill("input[name=phone]", "5678")  # htmx searches as the worker types
    card = page.locator(f"li[data-resident={resident['id']}]")
    expect(card).to_contain_text("刘奶奶 Liu")
    expect(card).to_contain_text("139****5678")
    expect(page).to_have_url(re.compile(r"/console/residents\?.*phone=5678"))  # a link to it
    page.screenshot(path=str(shots / "11-worker-find.png"), full_page=True)

    card.locator("text=预约 / 现场登记").click()
    page.select_option("select[name=resource_id]", resource_id)
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).astimezone(SHANGHAI).date()
    page.fill("input[name=day]", tomorrow.isoformat())
    page.fill("input[name=start]", "10:00")
    page.fill("input[name=end]", "11:00")
    page.click("button[value=book]")
    expect(page.locator("[data-testid=booked]")).to_contain_text("已预约")
    page.screenshot(path=str(shots / "12-worker-booked.png"), full_page=True)

    page.goto(f"{base}/console/residents/{resident['id']}/book")  # the hour in progress again
    page.select_option("select[name=resource_id]", resource_id)
    page.click("button[value=walk_in]")
    expect(page.locator("[data-testid=booked]")).to_contain_text("现场登记成功")
    expect(page.locator("[data-testid=booked-status]")).to_have_text("已签到")
    page.screenshot(path=str(shots / "13-worker-walk-in.png"), full_page=True)

    page.goto(f"{base}/console/suspensions")
    expect(page.locator("ul.cards")).to_contain_text("刘奶奶 Liu")
    page.screenshot(path=str(shots / "14-worker-suspensions.png"), full_page=True)
    context.close()


def _week_and_reports(browser: Any, base: str, shots: Path, resource_id: str) -> None:
    expect = playwright_api.expect
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    _sign_in(page, base, "partner-shangnan")
    page.goto(f"{base}/console/resources/{resource_id}/week")
    walk_in = page.locator(".week .slot [data-booking]", has_text="刘奶奶 Liu").first
    expect(walk_in).to_be_visible()
    walk_in.evaluate("element => element.scrollIntoView({block: 'center'})")
    page.screenshot(path=str(shots / "15-week.png"))
    page.goto(f"{base}/console/reports?group_by=resource")
    expect(page.locator("[data-testid=utilization-chart] rect").first).to_be_attached()
    page.screenshot(path=str(shots / "16-reports.png"), full_page=True)
    with page.expect_download() as download:
        page.click("[data-testid=csv]")
    assert download.value.suggested_filename.startswith("utilization-resource-")
    text = Path(download.value.path()).read_text()
    assert text.startswith("key,name,open_hours")
    context.close()


def _setting_up(
    browser: Any, base: str, shots: Path, tokens: dict[str, str], gate_booking: str
) -> None:
    """Staff create a partner and a resource with forms, correct one day and merge two
    records; the partner adds a school term and prints today's gate list."""
    expect = playwright_api.expect
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    _sign_in(page, base, "staff-li")
    page.goto(f"{base}/console/partners")
    page.fill("input[name=id]", "sanlin-tidal")
    page.fill("input[name=name]", "三林体育中心 Sanlin sports centre")
    page.select_option("select[name=zone]", "office")
    page.fill("input[name=contact_name]", "周经理")
    page.screenshot(path=str(shots / "17-partners.png"), full_page=True)
    page.click("text=创建合作单位")
    expect(page.locator("h1")).to_contain_text("三林体育中心")
    page.click("[data-testid=new-resource]")
    page.fill("input[name=name]", "潮汐停车场 Tidal car park")
    page.select_option("select[name=kind]", "parking")
    page.fill("input[name=capacity]", "150")
    page.fill("input[name='policy.granularity_minutes']", "7")
    page.click("text=创建场地")
    expect(page.locator("[data-field='policy.granularity_minutes']")).to_contain_text("整除")
    page.screenshot(path=str(shots / "18-resource-form-error.png"), full_page=True)
    page.fill("input[name='policy.granularity_minutes']", "60")
    page.select_option("select[name='policy.approval']", "staff")
    page.click("text=创建场地")
    expect(page.locator("[data-testid=saved]")).to_be_visible()
    expect(page.locator("h1")).to_contain_text("潮汐停车场")
    page.screenshot(path=str(shots / "19-resource-saved.png"), full_page=True)

    page.goto(f"{base}/console/calendar?month=2027-10")
    page.fill("#correct-one input[name=day]", "2027-10-09")
    page.select_option("#correct-one select[name=day_type]", "workday")
    page.fill("#correct-one input[name=name]", "国庆节调休上班")
    page.click("text=保存更正")
    expect(page.locator("[data-testid=corrected]")).to_contain_text("2027-10-09")
    expect(page.locator("tr[data-day='2027-10-09']")).to_contain_text("国庆节调休上班")
    page.screenshot(path=str(shots / "20-calendar-one-day.png"), full_page=True)

    keep, duplicate = (
        _api(base, tokens["staff"], "POST", "/api/v1/residents", body)
        for body in (
            {"name": "张大爷 Zhang", "community": "shangnan-2"},
            {"name": "张大爷 Zhang", "community": "shangnan-2", "phone": "137 0000 1234"},
        )
    )
    page.goto(f"{base}/console/residents/merge")
    page.fill("input[name=survivor]", keep["id"])
    page.fill("input[name=duplicate]", duplicate["id"])
    page.click("text=显示两条记录")
    expect(page.locator(f"[data-record={duplicate['id']}]")).to_contain_text("137****1234")
    page.screenshot(path=str(shots / "21-merge-both.png"), full_page=True)
    page.check("input[name=confirm]")
    page.click("button:text-is('合并')")
    expect(page.locator("[data-testid=merged]")).to_contain_text(duplicate["id"])
    page.screenshot(path=str(shots / "22-merged.png"), full_page=True)
    page.goto(f"{base}/console/residents/{keep['id']}/stored")
    expect(page.locator("[data-testid=phone]")).to_have_text("13700001234")
    page.goto(f"{base}/console/personal-data-access?resident_id={keep['id']}")
    expect(page.locator("#accesses tbody")).to_contain_text("staff-li")
    page.screenshot(path=str(shots / "23-access-log.png"), full_page=True)

    page.goto(f"{base}/console/webhooks")
    page.fill("input[name=url]", "https://hooks.example.org/zhoujiadu")
    page.check("input[name=events][value='booking.created']")
    page.check("input[name=events][value='booking.cancelled']")
    page.click("button:text-is('登记')")
    expect(page.locator("[data-testid=secret]")).not_to_be_empty()
    expect(page.locator("#webhooks tbody")).to_contain_text("hooks.example.org/zhoujiadu")
    page.screenshot(path=str(shots / "27-webhooks.png"), full_page=True)
    page.click("text=退出登录")
    page.wait_for_url(f"{base}/console/sign-in")

    _sign_in(page, base, "partner-shangnan")
    page.goto(f"{base}/console/terms")
    page.fill("input[name=name]", "2027 年春季学期")
    page.fill("input[name=starts_on]", "2027-02-22")
    page.fill("input[name=ends_on]", "2027-07-02")
    page.click("text=保存学期")
    expect(page.locator("p.ok")).to_contain_text("学期已保存")
    expect(page.locator("#terms tbody")).to_contain_text("2027 年春季学期")
    page.screenshot(path=str(shots / "24-terms.png"), full_page=True)

    page.goto(f"{base}/console/gate")
    page.click("[data-testid=print-view]")
    row = page.locator(f"tr[data-booking={gate_booking}]")
    expect(row).to_contain_text("已签到")  # checked in at the gate earlier
    page.screenshot(path=str(shots / "25-gate-print.png"), full_page=True)
    page.emulate_media(media="print")
    expect(page.locator("[data-print]")).to_be_hidden()
    page.screenshot(path=str(shots / "26-gate-print-media.png"), full_page=True)
    context.close()


def _offline_docs(browser: Any, base: str, shots: Path) -> None:
    """/schema with every request outside the service refused, as on an intranet."""
    context = browser.new_context()
    refused: list[str] = []

    def only_local(route: Any) -> None:
        if route.request.url.startswith(base):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    page.goto(f"{base}/schema")
    playwright_api.expect(page.locator(".swagger-ui .info .title")).to_contain_text(
        "Zhoujiadu shared-resource scheduler", timeout=20_000
    )
    page.screenshot(path=str(shots / "10-schema-offline.png"))
    assert refused == []
    context.close()
