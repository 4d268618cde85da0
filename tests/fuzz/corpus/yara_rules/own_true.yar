rule empty { condition: true }
