-- Headless Neovim (0.7+) as an independent LSP client of doeff-migrate's server.
-- Opens $LSP_FILE, attaches the server, waits for diagnostics, writes them to $LSP_OUT (one per line:
-- code|line|col|source|message), then deletes line $LSP_DELETE_LINE (1-based) and writes the
-- diagnostics that follow the edit to $LSP_OUT.after.
local function dump(bufnr, path)
  local out = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    local code = d.code or (d.user_data and d.user_data.lsp and d.user_data.lsp.code) or ''
    table.insert(out, string.format('%s|%d|%d|%s|%s', code, d.lnum, d.col, d.source or '', d.message))
  end
  vim.fn.writefile(out, path)
end

vim.cmd('edit ' .. vim.fn.fnameescape(vim.env.LSP_FILE))
local bufnr = vim.api.nvim_get_current_buf()
local client_id = vim.lsp.start_client({
  name = 'doeff-migrate',
  cmd = { vim.env.LSP_PYTHON, '-m', 'doeff_migrate.lsp' },
  root_dir = vim.env.LSP_ROOT,
  init_options = { settings = { debounceMs = 50 } },
})
vim.lsp.buf_attach_client(bufnr, client_id)
local got = vim.wait(20000, function() return #vim.diagnostic.get(bufnr) > 0 end, 20)
if not got then
  vim.fn.writefile({ 'TIMEOUT' }, vim.env.LSP_OUT)
  vim.cmd('qa!')
end
dump(bufnr, vim.env.LSP_OUT)
local before = #vim.diagnostic.get(bufnr)
local line = tonumber(vim.env.LSP_DELETE_LINE)
vim.api.nvim_buf_set_lines(bufnr, line - 1, line, false, {})
vim.wait(20000, function() return #vim.diagnostic.get(bufnr) < before end, 20)
dump(bufnr, vim.env.LSP_OUT .. '.after')
vim.lsp.stop_client(client_id)
vim.wait(2000, function() return vim.lsp.get_client_by_id(client_id) == nil end, 20)
vim.cmd('qa!')
