error('\27[2J\27]0;x\7cleared')
