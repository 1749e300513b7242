"""What training sessions and showcases share: an ordered list of consented media, shared with
chosen people, whose every item's consent is asked again each time it is listed or played.

``models`` holds the columns both kinds of record have (each keeps its own table), ``core`` the
mechanics (adding, ordering, removing, sharing, checking each item's consent, introducing a
story as its teller chose), ``forms`` the form fields both builders' pages use. What is truly one
kind's own stays in its package: clips, prompts, exports and the trainer's rules in
``storyhub.training``; members, event codes and offline packs in ``storyhub.showcases``.
"""
