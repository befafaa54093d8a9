error('not ' .. debug.getinfo(1, 'S').source:sub(2), 0)
