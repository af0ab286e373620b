"""The AI pages without a browser: memories listed, added, edited and deleted from the assistant page."""

import re


def test_memories_on_the_assistant_page(person):
    me = person("mem_page")
    page = me.get("/assistant")
    assert page.status_code == 200 and "What I remember" in page.text
    added = me.post_form("/assistant/memories", {"text": "I climb on Tuesdays"}, page="/assistant")
    assert added.status_code == 303
    page = me.get("/assistant")
    assert 'value="I climb on Tuesdays"' in page.text
    memory_id = re.search(r'action="/assistant/memories/(\d+)"', page.text).group(1)
    me.post_form(f"/assistant/memories/{memory_id}", {"text": "Tuesdays and Fridays", "action": "save"},
                 page="/assistant")
    assert 'value="Tuesdays and Fridays"' in me.get("/assistant").text
    me.post_form(f"/assistant/memories/{memory_id}", {"action": "delete"}, page="/assistant")
    assert "Tuesdays" not in me.get("/assistant").text
    assert me.post_form("/assistant/memories", {"text": "no token"}, csrf=False).status_code == 403
    assert me.post_form("/assistant/memories", {"text": ""}, page="/assistant").status_code == 422


def test_ai_pages_need_an_account_and_hide_other_peoples_ais(person):
    visitor = person()
    for path in ("/assistant", "/studio"):
        response = visitor.get(path, follow_redirects=False)
        assert response.status_code in (303, 401)
        assert response.status_code == 401 or response.headers["location"].startswith("/signin")
    owner = person("studio_owner")
    created = owner.post_form("/studio", {"name": "Owner AI", "visibility": "private"}, page="/studio")
    assert created.status_code == 303
    ai_path = created.headers["location"]
    other = person("studio_other")
    assert other.get(ai_path).status_code == 404
    assert other.get("/@studio_owner/ai/owner-ai").status_code == 404
    assert owner.get("/@studio_owner/ai/owner-ai").status_code == 200
