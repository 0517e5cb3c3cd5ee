-- The four teams of the business (SPEC §6). Admins edit them in the team constructor.
INSERT INTO team (name, direction, color, emoji, utm_patterns, sort_order, created_at, updated_at) VALUES
  ('Kenesary', '', '#F5B700', '👑', '["tripwire","nutcab","kenesary","nutrients","kab3","1day","pb_agency","kenji","kenes"]', 1, 0, 0),
  ('Arystan', '', '#FF6B35', '🦁', '["arystan","ar_","ast_","rm almaty","rm_almaty"]', 2, 0, 0),
  ('Muha', '', '#00B4D8', '🚀', '["onai","on ai","запуск","muha","yourmarketolog","maqtakyz","residence","yourteam","tima"]', 3, 0, 0),
  ('Traf4', '', '#00FF88', '⚡', '["alex","traf4","proftest","pb_agency","smmmcwin","3-1"]', 4, 0, 0)
ON CONFLICT DO NOTHING;
