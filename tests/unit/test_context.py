"""climate.context: a context is the thread's current one only when asked."""

import threading

from oslo_context import context as oslo_context

from climate import context


def test_building_a_context_never_makes_it_current():
    assert oslo_context.get_current() is None
    context.RequestContext(user_id="u", project_id="p")
    context.RequestContext.admin()
    assert oslo_context.get_current() is None


def test_current_is_for_a_block_and_for_its_thread():
    ctxt = context.RequestContext(user_id="u", project_id="p")
    seen = []
    with context.current(ctxt):
        assert oslo_context.get_current() is ctxt
        other = threading.Thread(
            target=lambda: seen.append(oslo_context.get_current())
        )
        other.start()
        other.join()
        inner = context.RequestContext(user_id="v", project_id="q")
        with context.current(inner):
            assert oslo_context.get_current() is inner
        assert oslo_context.get_current() is ctxt
    assert seen == [None]
    assert oslo_context.get_current() is None
